"""`secretkeeper migrate env-to-files`: env-var secrets moved to secrets mounted as read-only files.

plan.py decides (from the hygiene rules' reading of which env vars carry a secret) and says it as edit
ops (ops.py); splice.py writes them into a manifest's text, ops.apply_ops into a parsed body; files.py
and live.py drive them over files and a cluster; rollback.py undoes a live migration; report.py shows it.
"""
