"""Detection: rules in, matches out.

The public surface other packages use; the parts live in the modules beside this one.
"""

from secretkeeper.engine.detector import MARKERS, Detector, Match, line_prefiltered

__all__ = ["MARKERS", "Detector", "Match", "line_prefiltered"]
