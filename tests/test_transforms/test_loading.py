"""LoadImageFromFile and LazyImage: same pixels as MMPose's full decode, errors naming files."""
import struct

import cv2
import numpy as np
import pytest

from posecfg.transforms import LoadImageFromFile
from posecfg.transforms.image_header import read_header
from posecfg.transforms.lazy_image import LazyImage


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(image_file=str(path)))['img']


def count_decodes(monkeypatch):
    """Every decode, by OpenCV or by simplejpeg (which posecfg uses for JPEGs when installed)."""
    from posecfg.transforms import lazy_image
    calls = []
    real = cv2.imdecode

    def counting(buf, flag):
        calls.append(flag)
        return real(buf, flag)

    monkeypatch.setattr(cv2, 'imdecode', counting)
    if lazy_image.simplejpeg is not None:
        real_jpeg = lazy_image.simplejpeg.decode_jpeg

        def counting_jpeg(data, colorspace, **kwargs):
            calls.append(('simplejpeg', colorspace, kwargs.get('min_factor', 1)))
            return real_jpeg(data, colorspace, **kwargs)
        monkeypatch.setattr(lazy_image.simplejpeg, 'decode_jpeg', counting_jpeg)
    return calls


def test_simplejpeg_and_opencv_decode_the_same_pixels(mmpose_tests, monkeypatch):
    """The fast JPEG path gives OpenCV's pixels exactly, at full and reduced size, colour and
    grey (both are libjpeg-turbo with the same settings)."""
    from posecfg.transforms import lazy_image
    if lazy_image.simplejpeg is None:
        pytest.skip('simplejpeg is not installed')
    for path in sorted((mmpose_tests / 'coco').glob('*.jpg'))[:2]:
        data = path.read_bytes()
        for color_type in ('color', 'grayscale'):
            image = LazyImage(str(path), data, color_type=color_type)
            fast = [image.raw_pixels(r) for r in (1, 2, 4, 8)]
            monkeypatch.setattr(lazy_image, 'simplejpeg', None)  # decode with OpenCV
            slow = [image.raw_pixels(r) for r in (1, 2, 4, 8)]
            monkeypatch.undo()
            for a, b in zip(fast, slow):
                np.testing.assert_array_equal(a, b)


def test_lazy_image_has_shape_before_decoding_and_mmpose_pixels_after(mmpose_tests,
                                                                        monkeypatch):
    path = mmpose_tests / 'coco' / '000000000785.jpg'
    calls = count_decodes(monkeypatch)
    img = load(path)
    assert isinstance(img, LazyImage)
    assert img.shape == (425, 640, 3) and img.ndim == 3 and img.dtype == np.uint8
    assert calls == []  # the header was enough
    expected = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)  # MMPose: mmcv rgb
    np.testing.assert_array_equal(np.asarray(img), expected)
    np.testing.assert_array_equal(np.asarray(img.mirror()), expected[:, ::-1])
    assert len(calls) == 1  # decoded once, shared by the mirrored view


@pytest.mark.parametrize('kwargs,reference', [
    (dict(channel_order='bgr'), lambda p: cv2.imread(p)),
    (dict(color_type='grayscale'), lambda p: cv2.imread(p, cv2.IMREAD_GRAYSCALE)),
    (dict(to_float32=True), lambda p: cv2.imread(p)[:, :, ::-1].astype(np.float32)),
    (dict(color_type='unchanged'), lambda p: cv2.imread(p, cv2.IMREAD_UNCHANGED)),
])
def test_load_options(jpeg_file, kwargs, reference):
    path, _ = jpeg_file
    img = load(path, **kwargs)
    expected = reference(str(path))
    assert img.shape == expected.shape and img.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(img), expected)


def test_png_shape_from_header(tmp_path):
    path = tmp_path / 'a.png'
    pixels = np.random.default_rng(1).integers(0, 255, (33, 47, 3), dtype=np.uint8)
    cv2.imwrite(str(path), pixels)
    assert read_header(path.read_bytes())[:3] == ('png', 47, 33)
    img = load(path, channel_order='bgr')
    assert img.shape == (33, 47, 3) and img.max_reduction == 1
    np.testing.assert_array_equal(np.asarray(img), pixels)


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an APP1 Exif segment holding only an orientation tag inserted after SOI."""
    tiff = b'II*\x00' + struct.pack('<I', 8) + struct.pack('<H', 1)
    tiff += struct.pack('<HHIHH', 0x0112, 3, 1, orientation, 0) + struct.pack('<I', 0)
    body = b'Exif\x00\x00' + tiff
    return jpeg[:2] + b'\xff\xe1' + struct.pack('>H', len(body) + 2) + body + jpeg[2:]


@pytest.mark.parametrize('color_type', ['color', 'color_ignore_orientation'])
def test_exif_orientation_matches_opencv(jpeg_file, tmp_path, color_type):
    src, _ = jpeg_file
    path = tmp_path / 'rotated.jpg'
    path.write_bytes(with_exif_orientation(src.read_bytes(), 6))  # 6: turn 90 degrees
    img = load(path, color_type=color_type)
    flag = {'color': cv2.IMREAD_COLOR,
            'color_ignore_orientation': cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION}
    expected = cv2.imread(str(path), flag[color_type])[:, :, ::-1]
    assert img.shape == expected.shape
    np.testing.assert_array_equal(np.asarray(img), expected)
    # a turned JPEG is never decoded at reduced size (its edge blocks move)
    assert img.max_reduction == (1 if color_type == 'color' else 8)


def test_reduced_decode_is_aligned_with_full_resolution(mmpose_tests):
    img = load(mmpose_tests / 'coco' / '000000000785.jpg', channel_order='bgr')
    full = np.asarray(img).astype(np.float32)
    for r in (2, 4, 8):
        reduced = img.pixels(r)
        assert reduced.shape == (-(-425 // r), -(-640 // r), 3)  # ceil of each side
        # reduced pixel j is the mean of full pixels [r j, r j + r): compare with a box filter
        h, w = 425 // r, 640 // r
        boxed = cv2.resize(full[:h * r, :w * r], (w, h), interpolation=cv2.INTER_AREA)
        diff = np.abs(reduced[:h, :w].astype(np.float32) - boxed)[1:-1, 1:-1].mean()
        assert diff < 1.0, (r, diff)


def test_reduced_decode_can_be_switched_off(jpeg_file):
    path, _ = jpeg_file
    assert load(path).max_reduction == 8
    assert load(path, reduced_decode=False).max_reduction == 1


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / 'nope.jpg'
    with pytest.raises(FileNotFoundError, match=f"image_file '{missing}' does not exist"):
        load(missing)


def test_unreadable_file_is_named(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'this is not an image at all')
    with pytest.raises(ValueError, match=f"cannot decode image file '{bad}'"):
        load(bad)
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=f"image_file '{empty}' is empty"):
        load(empty)


def test_bad_arguments_and_records_are_named():
    with pytest.raises(ValueError, match="color_type='colour' is not one of 'color'"):
        LoadImageFromFile(color_type='colour')
    with pytest.raises(ValueError, match="channel_order='RGB' is not one of 'rgb', 'bgr'"):
        LoadImageFromFile(channel_order='RGB')
    with pytest.raises(ValueError, match="backend='petrel' is not supported"):
        LoadImageFromFile(file_client_args=dict(backend='petrel'))
    with pytest.raises(KeyError, match="neither 'image_file' nor 'img'; it has \\['bbox'\\]"):
        LoadImageFromFile()(dict(bbox=None))
    with pytest.raises(TypeError, match='image_file must be one path, got list'):
        LoadImageFromFile()(dict(image_file=['a.jpg', 'b.jpg']))


def test_given_bgr_array_is_converted_like_mmpose():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    out = LoadImageFromFile()(dict(img=bgr))
    assert out['image_file'] is None
    np.testing.assert_array_equal(out['img'][..., 2], 255)


def test_header_and_decoder_disagreeing_is_an_error(jpeg_file):
    path, _ = jpeg_file
    img = load(path)
    img.shape = (100, 160, 3)  # as if the header had been misread (true: 120 x 160)
    with pytest.raises(ValueError, match=r"header gives shape \(100, 160, 3\) at 1/1 size but "
                                         r'OpenCV decoded \(120, 160, 3\)'):
        np.asarray(img)
