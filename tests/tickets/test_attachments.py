"""Uploads through the API: sniffed type, size limit, EXIF stripped, authorized download."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import ExifTags, Image

from api.tickets.attachments import sniff
from tests.tickets.conftest import Api


def _jpeg_with_gps(orientation: int | None = None) -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if orientation:
        exif[0x0112] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, comment=b"secret comment")
    return buf.getvalue()


def _ticket(api: Api, actor: str = "tenant") -> int:
    r = api.client.post("/tickets", headers=api.as_(actor), json={
        "building_id": api.world.ids["b1"], "unit_id": api.world.ids["u1"],
        "title": "Mould in bathroom"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_jpeg_with_gps_exif_is_stored_without_it(api: Api, tmp_path: Path) -> None:
    tid = _ticket(api)
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    r = api.client.post(f"/tickets/{tid}/attachments", params={"filename": "IMG_0001.JPG"},
                        content=original, headers=api.as_("tenant"))
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == "image/jpeg"
    stored_name = api.world.conn.execute(
        "SELECT stored_name FROM ticket_attachments WHERE id = %s", (r.json()["id"],)
    ).fetchone()[0]
    data_dir = api.app.state.ticket_settings.data_dir
    stored = (data_dir / "tickets" / stored_name).read_bytes()
    with Image.open(io.BytesIO(stored)) as img:
        assert dict(img.getexif()) == {}
        assert "exif" not in img.info and "comment" not in img.info
        assert img.size == (64, 48)
        assert max(abs(a - b) for a, b in zip(img.getpixel((10, 10)), (200, 30, 30),
                                             strict=True)) < 8
    assert b"Exif" not in stored and b"PhoneMaker" not in stored and b"secret" not in stored
    # the file sits in the data dir under a random name, not the uploaded one
    assert "IMG_0001" not in stored_name and stored_name.startswith(f"{tid}/")
    download = api.client.get(f"/tickets/{tid}/attachments/{r.json()['id']}",
                              headers=api.as_("manager"))
    assert download.status_code == 200
    assert download.content == stored
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")


def test_exif_orientation_applied_before_stripping(api: Api) -> None:
    tid = _ticket(api)
    r = api.client.post(f"/tickets/{tid}/attachments", content=_jpeg_with_gps(orientation=6),
                        headers=api.as_("tenant"))
    got = api.client.get(f"/tickets/{tid}/attachments/{r.json()['id']}",
                         headers=api.as_("tenant"))
    assert Image.open(io.BytesIO(got.content)).size == (48, 64)  # rotated upright


def test_php_file_named_jpg_is_refused(api: Api) -> None:
    tid = _ticket(api)
    r = api.client.post(f"/tickets/{tid}/attachments", params={"filename": "shell.jpg"},
                        content=b"<?php system($_GET['c']); ?>", headers=api.as_("tenant"))
    assert r.status_code == 422
    assert r.json()["field"] == "file"
    assert "shell.jpg" in r.json()["detail"] and "not an allowed type" in r.json()["detail"]
    count = api.world.conn.execute("SELECT count(*) FROM ticket_attachments WHERE ticket_id = %s",
                                   (tid,)).fetchone()
    assert count == (0,)


def test_jpeg_magic_with_garbage_is_refused(api: Api) -> None:
    tid = _ticket(api)
    r = api.client.post(f"/tickets/{tid}/attachments", params={"filename": "x.jpg"},
                        content=b"\xff\xd8\xff\xe0" + b"<?php echo 1; ?>" * 10,
                        headers=api.as_("tenant"))
    assert r.status_code == 422 and "not a readable image/jpeg" in r.json()["detail"]


def test_oversized_upload_is_refused(api: Api) -> None:
    tid = _ticket(api)
    pdf = b"%PDF-1.7\n" + b"0" * 1_000_001  # document limit in the test settings: 1 MB
    r = api.client.post(f"/tickets/{tid}/attachments", params={"filename": "scan.pdf"},
                        content=pdf, headers=api.as_("tenant"))
    assert r.status_code == 422
    assert "exceed the limit of 1000000 bytes" in r.json()["detail"]
    huge = b"\xff\xd8\xff" + b"0" * 2_000_001  # larger than every limit: refused while reading
    r = api.client.post(f"/tickets/{tid}/attachments", content=huge, headers=api.as_("tenant"))
    assert r.status_code == 422 and "exceeds the limit" in r.json()["detail"]


def test_pdf_kept_and_download_needs_visibility(api: Api) -> None:
    tid = _ticket(api)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = api.client.post(f"/tickets/{tid}/attachments", params={"filename": "offer.pdf"},
                        content=pdf, headers=api.as_("tenant"))
    assert r.status_code == 201 and r.json()["media_type"] == "application/pdf"
    url = f"/tickets/{tid}/attachments/{r.json()['id']}"
    assert api.client.get(url, headers=api.as_("tenant")).content == pdf
    assert api.client.get(url, headers=api.as_("neighbour")).status_code == 404  # private
    assert api.client.get(url, headers=api.as_("foreign_manager")).status_code == 404
    board = api.client.post(f"/tickets/{tid}/attachments", content=pdf,
                            headers=api.as_("board"))
    assert board.status_code == 403  # sees it, may not add to it


def test_sniff_ignores_names_and_knows_the_allowed_types() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a...") == "image/gif"
    assert sniff(b"%PDF-1.7") == "application/pdf"
    assert sniff(b"MZ\x90\x00") is None
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
