"""Build constraints (gopackage/buildtags): which files of a folder one build compiles together."""

from __future__ import annotations

from pathlib import Path

from gleak_sarif.gopackage.buildtags import compatible, platforms
from gleak_sarif.gopackage.folders import Folders


def test_file_name_suffixes() -> None:
    assert platforms("conn.go", b"package p\n") is None
    assert platforms("linux.go", b"package p\n") is None  # the first element is the name, not a constraint
    linux = platforms("conn_linux.go", b"package p\n")
    windows = platforms("conn_windows_test.go", b"package p\n")
    arm = platforms("asm_arm64.go", b"package p\n")
    assert linux is not None and windows is not None and arm is not None
    assert ("android", "arm64") in linux  # android builds _linux files
    assert not compatible(linux, windows)
    assert compatible(linux, arm) and compatible(windows, arm)
    assert not compatible(platforms("x_linux_amd64.go", b""), platforms("y_linux_arm64.go", b""))


def test_go_build_lines() -> None:
    unix = platforms("conn_unix.go", b"// Copyright\n\n//go:build linux || darwin || freebsd\n\npackage p\n")
    std = platforms("conn_std.go", b"//go:build windows\n// +build windows\n\npackage p\n")
    assert unix is not None and std is not None
    assert not compatible(unix, std)
    assert not compatible(platforms("a.go", b"//go:build unix\npackage p\n"), std)
    assert compatible(platforms("a.go", b"//go:build !windows\npackage p\n"), unix)
    assert not compatible(platforms("a.go", b"//go:build !windows\npackage p\n"), std)
    # other tags may be set or not: they exclude nothing
    assert platforms("a.go", b"//go:build integration && go1.21\npackage p\n") is None
    assert compatible(platforms("a.go", b"//go:build cgo && linux\npackage p\n"), unix)
    # a //go:build line after the package clause is not a constraint; an unparsable one constrains nothing
    assert platforms("a.go", b"package p\n//go:build windows\n") is None
    assert platforms("a.go", b"//go:build linux &&\npackage p\n") is None


def test_plus_build_lines() -> None:
    old = platforms("a.go", b"// +build linux darwin\n// +build !386\n\npackage p\n")
    assert old is not None and ("linux", "amd64") in old and ("linux", "386") not in old
    assert ("windows", "amd64") not in old


def test_listing_for_drops_files_of_other_platforms(tmp_path: Path) -> None:
    for name, text in {"conn.go": "package p\n", "conn_windows.go": "package p\n",
                       "conn_unix.go": "//go:build unix\n\npackage p\n", "io_linux.go": "package p\n"}.items():
        (tmp_path / name).write_text(text)
    folders = Folders()

    def names(path: str) -> list[str]:
        listing = folders.listing_for(str(tmp_path / path), False)
        assert listing is not None
        return [Path(entry[0]).name for entry in listing]

    assert names("conn.go") == ["conn.go", "conn_unix.go", "conn_windows.go", "io_linux.go"]
    assert names("conn_unix.go") == ["conn.go", "conn_unix.go", "io_linux.go"]
    assert names("conn_windows.go") == ["conn.go", "conn_windows.go"]
