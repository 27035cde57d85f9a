"""QR codes: encoding to a module matrix (for vector drawing in PDFs) and PNG, and decoding.

zxing-cpp is a compiled encoder and decoder: it encodes a Suket-sized code in well under a
millisecond, where pure-Python encoders that search all eight masks need ~10 ms.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import zxingcpp
from PIL import Image

# Medium error correction: survives creases and smudges on paper while keeping the code small.
EC_LEVEL = "M"


@dataclass(frozen=True)
class QrMatrix:
    size: int
    # Row-major, one byte per module, 0 for dark (as zxing-cpp renders it).
    modules: bytes

    def dark_runs(self) -> list[tuple[int, int, int]]:
        """``(row, first column, length)`` of each horizontal run of dark modules."""
        runs: list[tuple[int, int, int]] = []
        n = self.size
        m = self.modules
        for y in range(n):
            row = m[y * n : (y + 1) * n]
            x = 0
            while x < n:
                x = row.find(b"\x00", x)
                if x < 0:
                    break
                end = row.find(b"\xff", x)
                if end < 0:
                    end = n
                runs.append((y, x, end - x))
                x = end
        return runs


def qr_matrix(text: str) -> QrMatrix:
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=EC_LEVEL)
    image = code.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[0]
    return QrMatrix(size=size, modules=bytes(memoryview(image)))


def qr_png(text: str, *, scale: int = 8) -> bytes:
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=EC_LEVEL)
    image = code.to_image(scale=scale, add_quiet_zones=True)
    h, w = image.shape[0], image.shape[1]
    out = io.BytesIO()
    Image.frombuffer("L", (w, h), bytes(memoryview(image))).save(out, format="PNG")
    return out.getvalue()


# Largest image decoded: a phone photo is 12-50 Mpx before the browser or app shrinks it; a
# bigger one (or a small file that claims huge dimensions, a decompression bomb) is refused
# before its pixels are decoded.
MAX_PIXELS = 40_000_000
UNREADABLE = "gambar tidak dapat dibaca"


def qr_read(image: bytes | Image.Image, *, max_pixels: int = MAX_PIXELS) -> list[str]:
    """The texts of every QR code found in an image (PNG, JPEG, ... bytes or a PIL image).

    Raises ``ValueError`` (message for the person) for a file that is not a readable image or
    has more than ``max_pixels`` pixels.
    """
    pil: Image.Image
    if isinstance(image, bytes):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                opened = Image.open(io.BytesIO(image))  # reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValueError(f"{UNREADABLE}: ukurannya terlalu besar") from exc
        except Exception as exc:  # Pillow's plugins raise many kinds for broken headers
            raise ValueError(f"{UNREADABLE} (berkas bukan gambar yang dikenal)") from exc
        _check_size(opened, max_pixels)
        try:
            opened.load()
            pil = opened.convert("L")
        except Image.DecompressionBombError as exc:
            raise ValueError(f"{UNREADABLE}: ukurannya terlalu besar") from exc
        except Exception as exc:  # truncated or corrupt pixel data
            raise ValueError(f"{UNREADABLE} (berkas rusak atau terpotong)") from exc
    else:
        _check_size(image, max_pixels)
        pil = image.convert("L")
    found = zxingcpp.read_barcodes(
        pil, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [r.text for r in found if r.valid]


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ValueError(
            f"{UNREADABLE}: ukurannya terlalu besar ({width} x {height} piksel, "
            f"maks. {max_pixels // 1_000_000} juta piksel)"
        )
