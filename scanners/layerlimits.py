"""How much one container image may make the scanner unpack.

A layer is a compressed tar stream chosen by whoever built the image: 4 MB of gzip can expand to 4 GB of
zeros, and tar headers can make Python's tarfile allocate or recurse without end. Layers are read through
a LayerBudget, which decompresses them itself (gzip, bzip2, xz) and stops past:

  MAX_LAYER_BYTES    8 GiB   uncompressed bytes of one layer (and compressed bytes read for it)
  MAX_IMAGE_BYTES   32 GiB   uncompressed bytes of all layers of one image
  MAX_LAYER_ENTRIES  1 M     tar entries in one layer (tarfile parses ~12,000 headers a second)
  MAX_IMAGE_ENTRIES  2 M     tar entries in all layers of one image
  MAX_HEADER_BYTES   1 MiB   one pax extended header or GNU long name (tarfile reads it into memory)

Large real images pass: CUDA and ML framework images have layers of a few GB and unpack to well under
32 GiB; a layer with a million files is rare. Past a cap the rest of the layer is a counted skip
(`layer-limit`) with a warning, findings already made are kept and the scan goes on with the next layer
(past an image cap, every further layer is skipped the same way).

A docker-archive that is itself compressed (`docker save | gzip`) is read by tarfile with random access,
which decompresses again from the start on every seek backwards: reading one costs about three times its
unpacked size (headers, then manifest.json near the end, then the layers). That decompression is capped
at MAX_ARCHIVE_DECOMPRESSION (64 GiB, so images up to ~20 GiB unpacked); past it the archive is refused
with a one-line error if manifest.json was not reached yet, else the layer being read is a counted skip.
Uncompressed archives (what `docker save` writes) cost nothing of the kind.

Archives and OCI layout blobs are opened only if they are regular files (`open_regular`): a FIFO would
block for ever, a device would never end.

The caps are module constants: a test may lower them, users have no knob (a scan that needs more is a
scan of something that is not an image).
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
import os
import stat
import tarfile
import zlib
from typing import IO, Any

from secretkeeper.errors import SecretkeeperError

MAX_LAYER_BYTES = 8 << 30
MAX_IMAGE_BYTES = 32 << 30
MAX_LAYER_ENTRIES = 1_000_000
MAX_IMAGE_ENTRIES = 2_000_000
MAX_HEADER_BYTES = 1 << 20
MAX_HEADER_CHAIN = 16  # pax / GNU long-name headers in front of one entry (real archives use up to 4)
MAX_ARCHIVE_ENTRIES = 100_000  # members of a docker-archive tarball (kept in memory for random access)
MAX_ARCHIVE_DECOMPRESSION = 64 << 30  # bytes decompressed to read a compressed docker-archive (see below)
XZ_MEMLIMIT = 256 << 20  # an xz header may ask for a 1.5 GiB dictionary
_RAW_CHUNK = 256 << 10

_GZIP, _BZIP2, _XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"


class LayerLimitExceeded(SecretkeeperError):
    """Raised from a layer's reader past a cap. scan_layers records it (`record`) and goes on; raised while
    an image is being resolved it is a one-line error like any other SecretkeeperError."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where

    def record(self, stats: Any) -> None:
        stats.skipped.add("layer-limit", self.where)
        stats.warnings.append(str(self))


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


class LayerBudget:
    """The caps for one image; `open_tar` gives each layer's tar stream, counted against them."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.max_layer = MAX_LAYER_BYTES
        self.max_image = MAX_IMAGE_BYTES
        self.max_layer_entries = MAX_LAYER_ENTRIES
        self.max_image_entries = MAX_IMAGE_ENTRIES
        self.image_bytes = 0
        self.image_entries = 0

    def open_tar(self, idx: int, raw: IO[bytes]) -> tarfile.TarFile:
        """Layer `idx` as a streaming TarFile over `raw` (compressed or not), decompressed here and counted.
        Members are not kept (`tar.members` stays empty), so only regular files can be extracted."""
        stream = io.BufferedReader(_LayerStream(self, idx, raw), buffer_size=1 << 20)
        return _LayerTar.open(fileobj=stream, mode="r|", budget=self, idx=idx)  # type: ignore[call-arg]

    def exceeded(self, idx: int, reason: str) -> LayerLimitExceeded:
        where = f"{self.image}: layer {idx}"
        return LayerLimitExceeded(f"{where}: {reason}; the rest of the layer was not scanned", where)


class _LayerStream(io.RawIOBase):
    """The uncompressed tar bytes of one layer. Delivers at most the budget's allowance and raises when
    there is more; compressed input is counted against the per-layer cap too."""

    def __init__(self, budget: LayerBudget, idx: int, raw: IO[bytes]) -> None:
        self._budget, self._idx, self._raw = budget, idx, raw
        self._pending = b""  # input not yet given to the decoder
        self._raw_eof = False
        self._kind: bytes | None = None
        self._dec: Any = None
        self._sniffed = False
        self.raw_bytes = 0
        self.out_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        budget = self._budget
        layer_left = budget.max_layer - self.out_bytes
        image_left = budget.max_image - budget.image_bytes
        allowed = max(min(layer_left, image_left), 0)
        try:
            data = self._produce(min(len(b), allowed + 1))
        except (zlib.error, lzma.LZMAError) as exc:
            raise tarfile.ReadError(f"corrupt compressed layer ({type(exc).__name__})") from None
        if len(data) > allowed:
            self.out_bytes += allowed  # decompressed, not delivered: the budget is spent all the same
            budget.image_bytes += allowed
            if layer_left <= image_left:
                raise budget.exceeded(self._idx, f"expands past {_size(budget.max_layer)} (the per-layer cap)")
            raise budget.exceeded(self._idx, f"the image expands past {_size(budget.max_image)} (the per-image cap)")
        n = len(data)
        b[:n] = data
        self.out_bytes += n
        budget.image_bytes += n
        return n

    def _more(self) -> bytes:
        if self._raw_eof:
            return b""
        chunk = self._raw.read(_RAW_CHUNK)
        if not chunk:
            self._raw_eof = True
            return b""
        self.raw_bytes += len(chunk)
        if self._kind is not None and self.raw_bytes > self._budget.max_layer:  # plain: out_bytes says it
            raise self._budget.exceeded(self._idx, f"more than {_size(self._budget.max_layer)} compressed")
        return chunk

    def _sniff(self) -> None:
        self._sniffed = True
        while len(self._pending) < 6:
            chunk = self._more()
            if not chunk:
                break
            self._pending += chunk
        for magic in (_GZIP, _BZIP2, _XZ):
            if self._pending.startswith(magic):
                self._kind = magic
                self._dec = self._decoder()

    def _decoder(self) -> Any:
        if self._kind == _GZIP:
            return zlib.decompressobj(wbits=31)
        if self._kind == _BZIP2:
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)

    def _produce(self, want: int) -> bytes:
        if not self._sniffed:
            self._sniff()
        if self._dec is None:  # an uncompressed tar
            if not self._pending:
                self._pending = self._more()
            out, self._pending = self._pending[:want], self._pending[want:]
            return out
        while True:
            dec = self._dec
            if dec.eof:  # one compressed stream ended: another may follow (pigz, concatenated members)
                rest = dec.unused_data + self._pending
                if not rest:
                    rest = self._more()
                if not rest.startswith(self._kind):  # nothing more, or trailing bytes: ignored as gzip -d does
                    self._pending = b""
                    return b""
                self._dec = dec = self._decoder()
                self._pending = rest
            if self._kind == _GZIP:
                data = self._pending or self._more()
                if not data:
                    raise EOFError("compressed layer ends early")
                out = dec.decompress(data, want)
                self._pending = dec.unconsumed_tail
            else:
                data = b""
                if dec.needs_input:
                    data, self._pending = self._pending or self._more(), b""
                    if not data:
                        raise EOFError("compressed layer ends early")
                out = dec.decompress(data, want)
            if out:
                return out


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses the tar headers that make tarfile allocate or recurse without bound: a pax header or GNU long
    name larger than MAX_HEADER_BYTES (read into memory whole), a chain of them (tarfile recurses once per
    header), GNU sparse files (their maps are unbounded lists)."""

    def _proc_member(self, tar: Any) -> Any:
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tar.refuse("a GNU sparse file (not read)")
        if self.type not in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
                             tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
            return super()._proc_member(tar)
        if self.size > MAX_HEADER_BYTES:
            raise tar.refuse(f"an extended tar header of {self.size} bytes (over {_size(MAX_HEADER_BYTES)})")
        tar.header_chain += 1
        try:
            if tar.header_chain > MAX_HEADER_CHAIN:
                raise tar.refuse(f"more than {MAX_HEADER_CHAIN} extended tar headers in a row")
            return super()._proc_member(tar)
        finally:
            tar.header_chain -= 1

    def _proc_gnusparse_10(self, next: Any, pax_headers: Any, tar: Any) -> None:
        raise tar.refuse("a pax sparse file (not read)")


class _BoundedTar(tarfile.TarFile):
    tarinfo = _BoundedTarInfo
    header_chain = 0

    def refuse(self, what: str) -> LayerLimitExceeded:
        return LayerLimitExceeded(f"a tar archive holds {what}", "tar")


class _LayerTar(_BoundedTar):
    """A layer read once, in order: entries are counted, not kept."""

    def __init__(self, *args: Any, budget: LayerBudget, idx: int, **kwargs: Any) -> None:
        self._budget, self._idx, self._entries = budget, idx, 0
        super().__init__(*args, **kwargs)

    def refuse(self, what: str) -> LayerLimitExceeded:
        return self._budget.exceeded(self._idx, f"holds {what}")

    def next(self) -> tarfile.TarInfo | None:
        parsed = self.firstmember is None  # else tarfile hands out the member it read when opening
        member = super().next()
        self.members.clear()  # iteration works without them; a million TarInfos would not fit
        if member is not None and parsed:
            budget = self._budget
            self._entries += 1
            budget.image_entries += 1
            if self._entries > budget.max_layer_entries:
                raise budget.exceeded(self._idx, f"more than {budget.max_layer_entries} entries (the per-layer cap)")
            if budget.image_entries > budget.max_image_entries:
                raise budget.exceeded(self._idx, f"the image has more than {budget.max_image_entries} entries "
                                                 "(the per-image cap)")
        return member


# -- files on disk: docker-archive tarballs, OCI layout blobs ------------------------------------------
def open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """`path` opened for reading if it is a regular file, else OSError: a FIFO would block the open or
    the read for ever, a device (`/dev/zero`) never ends."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_archive(path: str, what: str) -> tarfile.TarFile:
    """A `docker save` tarball (plain, gzip, bzip2 or xz) opened for random access: a regular file only,
    members capped at MAX_ARCHIVE_ENTRIES, tar headers bounded as in layers, and a compressed archive's
    decompression counted against MAX_IMAGE_BYTES. Raises OSError or tarfile.TarError for what is not a
    readable tarball, LayerLimitExceeded past a cap."""
    fh = open_regular(path)
    try:
        magic = fh.read(6)
        fh.seek(0)
        source: Any = fh
        if magic.startswith(_GZIP):
            source = _Metered(gzip.GzipFile(fileobj=fh, mode="rb"), what)
        elif magic.startswith(_BZIP2):
            source = _Metered(bz2.BZ2File(fh, mode="rb"), what)
        elif magic.startswith(_XZ):
            source = _Metered(lzma.LZMAFile(fh, mode="rb"), what)
        return _ArchiveTar.open(fileobj=source, mode="r:", label=what, file=fh)  # type: ignore[call-arg]
    except BaseException:
        fh.close()
        raise


class _ArchiveTar(_BoundedTar):
    def __init__(self, *args: Any, label: str, file: IO[bytes], **kwargs: Any) -> None:
        self._label, self._file = label, file
        super().__init__(*args, **kwargs)

    def refuse(self, what: str) -> LayerLimitExceeded:
        return LayerLimitExceeded(f"{self._label}: the archive holds {what}; not read further", self._label)

    def next(self) -> tarfile.TarInfo | None:
        member = super().next()
        if member is not None and len(self.members) > MAX_ARCHIVE_ENTRIES:
            raise self.refuse(f"more than {MAX_ARCHIVE_ENTRIES} members")
        return member

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._file.close()


class _Metered:
    """A decompressing file for tarfile's random access, charged for every byte it decompresses: reads,
    forward seeks (decompressed and discarded) and backward seeks (decompressed again from the start).
    Charged before the work, so a huge read or seek is refused without doing it."""

    def __init__(self, inner: Any, what: str) -> None:
        self._inner = inner
        self._what = what
        self._pos = 0
        self._cost = 0
        self._cap = MAX_ARCHIVE_DECOMPRESSION

    def _charge(self, n: int) -> None:
        self._cost += n
        if self._cost > self._cap:
            raise LayerLimitExceeded(f"{self._what}: the compressed archive takes more than {_size(self._cap)} "
                                     "of decompression to read; not read further", self._what)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._cap - self._cost + 1
        self._charge(n)
        data = self._inner.read(n)
        self._cost -= n - len(data)  # charged for what the end of the stream did not deliver
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        target = {0: offset, 1: self._pos + offset}.get(whence)
        if target is None:  # from the end: tarfile does not, and it would mean decompressing all
            raise io.UnsupportedOperation("seek from the end of a compressed archive")
        self._charge(target - self._pos if target >= self._pos else target)
        self._pos = self._inner.seek(target)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()
