"""Read an image's size from its file header, without decoding pixels.

Only what the lazy loader needs: JPEG (size, channel count, EXIF orientation) and PNG (size).
Anything else returns None and the caller decodes the file to learn its shape.
"""
from __future__ import annotations

import struct
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but
# are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_EXIF_ORIENTATION_TAG = 0x0112


class ImageHeader(NamedTuple):
    """What a file header says about the stored image.

    ``width``/``height`` are as stored, before any EXIF rotation; ``orientation`` is the EXIF
    orientation (1 = as stored; 5–8 swap width and height when applied).
    """
    format: str            # 'jpeg' or 'png'
    width: int
    height: int
    channels: int          # components stored in the file (JPEG: 1 grey, 3 colour, 4 CMYK)
    orientation: int = 1


def read_header(data: bytes) -> Optional[ImageHeader]:
    """Parse the header of an encoded image; None if the format is not JPEG/PNG or is damaged."""
    if data[:2] == b'\xff\xd8':
        return _jpeg_header(data)
    if data[:8] == _PNG_SIGNATURE and len(data) >= 26 and data[12:16] == b'IHDR':
        width, height = struct.unpack('>II', data[16:24])
        color_type = data[25]
        channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(color_type, 3)
        return ImageHeader('png', width, height, channels)
    return None


def _jpeg_header(data: bytes) -> Optional[ImageHeader]:
    pos, size = 2, len(data)
    orientation = 1
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            return None  # lost sync: not a JPEG we understand
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD9:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack('>H', data[pos + 2:pos + 4])
        segment = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and segment[:6] == b'Exif\x00\x00':
            orientation = _exif_orientation(segment[6:])
        elif marker in _SOF_MARKERS:
            if len(segment) < 6:
                return None
            height, width = struct.unpack('>HH', segment[1:5])
            if width == 0 or height == 0:
                return None  # height defined later by a DNL marker: let the decoder tell
            return ImageHeader('jpeg', width, height, segment[5], orientation)
        pos += 2 + length
    return None


def _exif_orientation(tiff: bytes) -> int:
    """Orientation tag of a TIFF block (the body of a JPEG's Exif segment); 1 when absent."""
    if tiff[:2] == b'II':
        endian = '<'
    elif tiff[:2] == b'MM':
        endian = '>'
    else:
        return 1
    try:
        (ifd,) = struct.unpack(endian + 'I', tiff[4:8])
        (count,) = struct.unpack(endian + 'H', tiff[ifd:ifd + 2])
        for i in range(count):
            entry = ifd + 2 + 12 * i
            tag, kind = struct.unpack(endian + 'HH', tiff[entry:entry + 4])
            if tag == _EXIF_ORIENTATION_TAG and kind == 3:  # SHORT
                (value,) = struct.unpack(endian + 'H', tiff[entry + 8:entry + 10])
                return value if 1 <= value <= 8 else 1
    except struct.error:
        pass  # truncated EXIF: OpenCV ignores it too
    return 1


def read_image_sizes(paths: Sequence[str]) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    """Stored sizes of image files, from their headers (decoding only formats other than PNG and
    JPEG, with PIL).

    Args:
        paths: (M,) image files.

    Returns:
        (M, 2) int64 (height, width) as stored (no EXIF rotation: what PIL's ``Image.size``
        gives, as DeepLabCut and Lightning Pose read sizes), (M,) int64 channels stored in the
        file (1 grey, 3 colour, 4 with alpha …), and the positions of the files that could not
        be read (their rows are 0).
    """
    sizes = np.zeros((len(paths), 2), dtype=np.int64)
    channels = np.zeros(len(paths), dtype=np.int64)
    missing = []
    for i, path in enumerate(paths):
        try:
            with open(path, 'rb') as f:
                head = f.read(1 << 16)
        except OSError:
            missing.append(i)
            continue
        header = read_header(head)
        if header is None:
            try:
                height, width, depth = _decoded_shape(path)
            except OSError:
                missing.append(i)
                continue
        else:
            height, width, depth = header.height, header.width, header.channels
        sizes[i], channels[i] = (height, width), depth
    return sizes, channels, missing


def _decoded_shape(path: str) -> Tuple[int, int, int]:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        return height, width, len(image.getbands())
