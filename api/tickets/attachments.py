"""Photos and documents on tickets: sniffed, limited, cleaned, stored out of reach.

- The type comes from the first bytes (magic numbers), never from the name or
  the client's Content-Type: a PHP script called ``leak.jpg`` is refused.
- Size limits per kind are checked before any decoding.
- Images are decoded and re-encoded with Pillow.  The new file carries pixels
  only: EXIF (GPS position of the resident's flat!), XMP, comments and any
  payload appended to the original are gone.  The EXIF orientation is applied
  first, so the photo still stands upright.  Pillow's decompression-bomb guard
  runs with our pixel limit.
- PDFs are kept as sent (we do not rewrite documents) and are served as
  downloads with ``nosniff``.
- Files live under ``<data_dir>/tickets/<ticket id>/<random name>``, outside any
  static folder; the only way out is the authorized download route.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from api.errors import InvalidRequestError

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
)
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "PNG",
               "image/webp": "WEBP"}
# GIF is re-encoded as PNG (first frame): smaller attack surface, same picture.
STORED_TYPE = {"image/gif": "image/png"}


@dataclass(frozen=True, slots=True)
class Limits:
    max_image_bytes: int
    max_document_bytes: int
    max_image_pixels: int


@dataclass(frozen=True, slots=True)
class CleanFile:
    data: bytes
    media_type: str
    sha256: str


def sniff(data: bytes) -> str | None:
    """The media type the content declares by its magic number, or None."""
    for magic, offset, media_type in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean(data: bytes, original_name: str, limits: Limits) -> CleanFile:
    """Check and clean an upload; InvalidRequestError names the file and what is wrong."""
    name = original_name or "upload"
    if not data:
        raise InvalidRequestError(f"{name}: the file is empty", field="file")
    media_type = sniff(data)
    if media_type is None:
        raise InvalidRequestError(
            f"{name}: content is not an allowed type (JPEG, PNG, GIF, WebP images or PDF); "
            "the type is taken from the content, not the file name", field="file")
    limit = limits.max_document_bytes if media_type == "application/pdf" else limits.max_image_bytes
    if len(data) > limit:
        raise InvalidRequestError(
            f"{name}: {len(data)} bytes exceed the limit of {limit} bytes for {media_type}",
            field="file")
    if media_type == "application/pdf":
        out = data
    else:
        out = _reencode(data, media_type, name, limits.max_image_pixels)
        media_type = STORED_TYPE.get(media_type, media_type)
    return CleanFile(out, media_type, hashlib.sha256(out).hexdigest())


def _reencode(data: bytes, media_type: str, name: str, max_pixels: int) -> bytes:
    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = max_pixels
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()  # structure check before decoding pixels
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidRequestError(f"{name}: not a readable {media_type} image ({exc})",
                                  field="file") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    fmt = IMAGE_TYPES[media_type]
    # A fresh image from the pixels alone: no info dict, so no EXIF/XMP/ICC/comments.
    mode = upright.mode
    if fmt == "JPEG" and mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    elif fmt == "PNG" and mode not in ("RGB", "RGBA", "L", "LA", "P"):
        upright = upright.convert("RGBA")
    bare = Image.new(upright.mode, upright.size)
    bare.paste(upright)
    if upright.mode == "P":
        bare.putpalette(upright.getpalette() or [])
    buf = io.BytesIO()
    options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    bare.save(buf, format=fmt, **options)
    return buf.getvalue()


def store(data_dir: Path, ticket_id: int, data: bytes) -> str:
    """Write the cleaned bytes under a random name; returns the name to record."""
    folder = data_dir / "tickets" / str(ticket_id)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{ticket_id}/{secrets.token_hex(16)}"
    path = data_dir / "tickets" / stored_name
    with open(path, "xb") as fh:
        fh.write(data)
    return stored_name


def load(data_dir: Path, stored_name: str) -> bytes:
    root = (data_dir / "tickets").resolve()
    path = (root / stored_name).resolve()
    if root not in path.parents:  # names come from our table; still, never leave the root
        raise InvalidRequestError("attachment path outside the data dir", field="stored_name")
    return path.read_bytes()
