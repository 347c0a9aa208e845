"""Folder listings (gopackage/folders.py): read once per folder within a scan, fresh in the next.

Every file of a folder asks for its folder's listing (package scope, token pre-check); reading it once per
file stat-ed every sibling for every file. Within a scan (one `Folders`, held by the scan context) the
listing is reused unless the folder itself changed (a file added, removed or renamed); the next scan has a
new context, so a long-running engine sees siblings edited in place between scans.
"""

from __future__ import annotations

import os
from pathlib import Path

from gleak_sarif.gopackage.folders import MAX_SIBLING_FILES, Folders


def test_a_listing_is_read_once_per_scan_and_follows_the_folder(tmp_path: Path) -> None:
    (tmp_path / "a.go").write_text("package p\n")
    (tmp_path / "a_test.go").write_text("package p\n")
    (tmp_path / "notes.txt").write_text("not go\n")
    scan = Folders()
    first = scan.listing(str(tmp_path), tests=False)
    assert first is not None and [os.path.basename(p) for p, _, _ in first] == ["a.go"]
    assert scan.listing(str(tmp_path), tests=False) is first, "reused within the scan"
    with_tests = scan.listing(str(tmp_path), tests=True)
    assert with_tests is not None and [os.path.basename(p) for p, _, _ in with_tests] == ["a.go", "a_test.go"]

    # an in-place edit of a sibling: seen by the next scan (its size and mtime are in the listing)
    (tmp_path / "a.go").write_text("package p\n\nfunc F() {}\n")
    scan = Folders()
    edited = scan.listing(str(tmp_path), tests=False)
    assert edited is not None and edited is not first and edited[0][2] == len("package p\n\nfunc F() {}\n")

    # a new file changes the folder's mtime: seen within the same scan
    before = os.stat(tmp_path).st_mtime_ns
    (tmp_path / "b.go").write_text("package p\n")
    os.utime(tmp_path, ns=(before + 1_000_000, before + 1_000_000))  # a coarse clock could hide the change
    grown = scan.listing(str(tmp_path), tests=False)
    assert grown is not None and [os.path.basename(p) for p, _, _ in grown] == ["a.go", "b.go"]


def test_a_missing_or_crowded_folder_has_no_listing(tmp_path: Path) -> None:
    scan = Folders()
    assert scan.listing(str(tmp_path / "missing"), tests=False) is None
    for i in range(MAX_SIBLING_FILES + 1):
        (tmp_path / f"f{i}.go").write_text("package p\n")
    assert scan.listing(str(tmp_path), tests=False) is None


def test_the_nearest_go_mod_is_looked_up_once_per_scan(tmp_path: Path) -> None:
    """A folder's go.mod is found once per scan (a go.mod added later is seen by the next scan: a
    long-running engine server used to keep the first answer for the process); its `go` line is read again
    when the file changes."""
    source = tmp_path / "mod" / "pkg" / "a.go"
    source.parent.mkdir(parents=True)
    source.write_text("package p\n")
    scan = Folders()
    assert scan.go_version(str(source)) is None
    (tmp_path / "mod" / "go.mod").write_text("module m\n\ngo 1.21\n")
    assert scan.go_version(str(source)) is None, "within the scan the first answer stands"
    scan = Folders()
    assert scan.go_version(str(source)) == (1, 21)
    (tmp_path / "mod" / "go.mod").write_text("module m\n\ngo 1.22.3\n")
    assert scan.go_version(str(source)) == (1, 22), "an edited go line is read again"


def test_view_order_groups_a_folders_files_by_package_view(tmp_path: Path) -> None:
    """Files built for the same platforms share a package view (one index and model): a worker's run of
    files takes them one view after the other, folders and files otherwise in the given order."""
    other = tmp_path / "other"
    other.mkdir()
    texts = {"a.go": "package p\n", "b_linux.go": "package p\n", "c_windows.go": "package p\n",
             "d.go": "package p\n", "e.go": "//go:build linux\n\npackage p\n", "x_test.go": "package p\n",
             "y_test.go": "package p_test\n", "z_test.go": "package p\n"}
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    (other / "o.go").write_text("package o\n")
    given = ["c_windows.go", "x_test.go", "a.go", "y_test.go", "b_linux.go", "other/o.go", "d.go", "e.go",
             "z_test.go"]
    ordered = Folders().view_order([str(tmp_path / name) for name in given])
    assert [os.path.relpath(p, tmp_path) for p in ordered] == [
        "a.go", "d.go", "b_linux.go", "e.go", "c_windows.go", "x_test.go", "z_test.go", "y_test.go",
        os.path.join("other", "o.go")]
    # a lone file of its folder is not read for a key (a pre-commit run of a few files)
    assert Folders().view_order([str(other / "o.go"), str(tmp_path / "a.go")]) == [
        str(other / "o.go"), str(tmp_path / "a.go")]
