"""Git history: every unique blob of the selected refs read and scanned once, findings attributed after.

How a history scan runs (docs/git-history.md has the user-facing story), module by module:

1. `selection`: select blobs. `--all-refs` (default): every blob in the object database, listed in pack
   order by `git cat-file --batch-all-objects --batch-check --unordered` (no history walk at all).
   `--branch REF` and `--since REV`: `git rev-list --objects REFS --not REV`, which also names each blob.
   `--staged`: the index entries that differ from HEAD. Blobs over `scan.max_file_size` are counted skips.
2. `content`: scan content. The pack-ordered list is cut into contiguous slices balanced by bytes; each
   worker process (fork: the compiled Detector is inherited) runs its own `git cat-file --batch` on its
   slice and hands blobs to secretkeeper/blobscan.py with the name they were listed under, if any. Only
   Hits travel back (hash + redacted preview, never the secret). Binary blobs (NUL in the first 8000
   bytes) are skipped. A corrupt or missing object is a warning and a counted skip; the reader restarts
   after it. Path-gated rules (credential files recognised by name) need a path: with `--all-refs`, the
   attribution walks run first (spooled for later) and `names` keeps, from their raw log, the names that
   match a path rule, before the content pass; there a named blob that a path rule for its name matches
   (the gate), a table or a binary-looking one is scanned with that name, every other blob without one.
3. `attribution`: only blobs with findings are mapped to commits: `git log --raw` over the scanned
   refs (streamed after the content pass, or read back from the spools of a full scan), searched for
   those blobs: commits that are not merges first, then merges with
   `-c` (only what a merge wrote against every parent) for the blobs still unattributed; renames seen as
   add + delete, oldest first; each (rule, path, secret) is reported once, at its earliest introducing
   commit, with the line in that version; `git ls-tree -r HEAD` tells whether it is still in HEAD.
   This provenance is applied once, as each Finding is built.
4. `history`: the pipeline's entry point, per repository among the scanned roots; `repo` holds the
   plumbing (finding a repository, running git, refs and revisions).

Paths are read with `-z` and decoded as UTF-8; bytes that are not UTF-8 are shown as `\\xNN` escapes.
"""
