"""Detection: rules in, matches out.

The public surface other packages use; the parts live in the modules beside this one.
"""

from secretkeeper.engine.batch import PrefilterBatch
from secretkeeper.engine.detector import MARKERS, Detector
from secretkeeper.engine.hsexpr import line_prefiltered
from secretkeeper.engine.match import Match

__all__ = ["MARKERS", "Detector", "Match", "PrefilterBatch", "line_prefiltered"]
