"""Dataset storage: the shard layout, atomic writes, checksums and the manifest.

See :mod:`datagen.dataset` for the directory layout and the integrity guarantees. This module
holds the pieces both the generator and the loader use: the file names and columns, the
seed sequence of a shard, writing a shard atomically with its SHA-256 checksums, verifying a
shard before resuming, and reading and writing ``manifest.json``. Re-exported by
:mod:`datagen.dataset`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datagen.validation import is_int

__all__ = [
    "CHECKSUM_FILE",
    "DATASET_FORMAT",
    "DEFAULT_SHARD_SIZE",
    "DatasetError",
    "FORMAT_VERSION",
    "ID_COLUMN",
    "LEGACY_ID_COLUMN",
    "MANIFEST_NAME",
    "SCENARIO_COLUMNS",
    "SHARD_FILES",
    "TMP_PREFIX",
    "adopted_settings",
    "checksum_mismatch",
    "clear_dataset",
    "empty_table",
    "expected_checksums",
    "prepare_out_dir",
    "read_manifest",
    "read_table",
    "shard_name",
    "shard_ok",
    "shard_seed_sequence",
    "shard_tables",
    "update_counts",
    "warn_renamed",
    "write_json_atomic",
    "write_shard",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
SHARD_FILES: tuple[str, ...] = (
    "scenarios.parquet",
    "services.parquet",
    "devices.parquet",
    "links.parquet",
)
#: The column that keys the rows of every shard table: the scenario's global index.
ID_COLUMN = "scenario"
#: Its name in shards written before format version 3; renamed to :data:`ID_COLUMN` on read.
LEGACY_ID_COLUMN = "sample_id"
SCENARIO_COLUMNS: tuple[str, ...] = (
    ID_COLUMN,
    "scenario_json",
    "sim_seed",
    "num_requests",
    "rounds",
    "se_rel_respt",
    "se_abs_tput",
)
#: Per-shard file of SHA-256 checksums, in the format of ``sha256sum``.
CHECKSUM_FILE = "SHA256SUMS"
#: Largest shard size :func:`generate` picks by itself.
DEFAULT_SHARD_SIZE = 1000
DATASET_FORMAT = "edgechain-dataset"
# 1: no checksums; 2: shards carry SHA-256 checksums (manifest and SHA256SUMS); 3: tables are
# keyed by ``scenario`` (``sample_id`` before). The loader reads every version, shard by shard
# (a resumed dataset may mix them), and renames ``sample_id`` on read: files are never rewritten,
# so their checksums keep verifying.
FORMAT_VERSION = 3
TMP_PREFIX = ".tmp-"
_SHARD_RE = re.compile(r"shard-\d+")


class DatasetError(ValueError):
    """A dataset directory is missing, inconsistent or holds corrupt or missing shards."""


def shard_name(index: int) -> str:
    """Folder name of shard ``index``: ``"shard-00000"``."""
    return f"shard-{index:05d}"


def shard_seed_sequence(seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of shard ``index``: equal to ``SeedSequence(seed).spawn(n)[index]``."""
    return np.random.SeedSequence(seed, spawn_key=(index,))



def empty_table(key: str) -> pd.DataFrame:
    """A table without rows: the columns :data:`ID_COLUMN` (int64) and ``key`` (str)."""
    return pd.DataFrame({ID_COLUMN: pd.Series([], dtype="int64"), key: pd.Series([], dtype=str)})


def _stack(tables: list[tuple[int, pd.DataFrame]], key: str) -> pd.DataFrame:
    """Concatenate per-sample tables into one long table keyed by :data:`ID_COLUMN` and ``key``."""
    kept = [(sid, df) for sid, df in tables if df is not None and len(df)]
    if not kept:
        return empty_table(key)
    out = pd.concat([df for _, df in kept], ignore_index=True)
    names = np.concatenate([df.index.astype(str).to_numpy(dtype=object) for _, df in kept])
    ids = np.repeat(np.array([sid for sid, _ in kept], dtype=np.int64), [len(df) for _, df in kept])
    out.insert(0, key, names)
    out.insert(0, ID_COLUMN, ids)
    return out


def read_table(data: bytes) -> pd.DataFrame:
    """A shard table from its Parquet bytes, keyed by :data:`ID_COLUMN` whatever its version.

    A table written before format version 3 names the column :data:`LEGACY_ID_COLUMN`; it is
    renamed in memory (same position and values), never in the file, whose checksum thus
    still holds.
    """
    df = pd.read_parquet(io.BytesIO(data))
    if LEGACY_ID_COLUMN in df.columns and ID_COLUMN not in df.columns:
        df.rename(columns={LEGACY_ID_COLUMN: ID_COLUMN}, inplace=True)  # no copy of the data
    return df


def warn_renamed(owner: object, old: str, new: str) -> Any:
    """Warn that ``owner.old`` is deprecated and return ``owner.new``: one-line aliases.

    Warns:
        DeprecationWarning: Attributed to the code that read the alias.
    """
    warnings.warn(
        f"{type(owner).__name__}.{old} is deprecated; use {type(owner).__name__}.{new} (the "
        f"tables' sample_id column is now called {ID_COLUMN!r})",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(owner, new)



def shard_tables(
    scen_rows: list[dict[str, Any]],
    svc_tabs: list[tuple[int, pd.DataFrame]],
    dev_tabs: list[tuple[int, pd.DataFrame]],
    link_tabs: list[tuple[int, pd.DataFrame]],
) -> dict[str, pd.DataFrame]:
    """The four tables of a shard (:data:`SHARD_FILES`) from per-sample rows and tables."""
    return {
        "scenarios.parquet": pd.DataFrame(scen_rows, columns=list(SCENARIO_COLUMNS)),
        "services.parquet": _stack(svc_tabs, "service"),
        "devices.parquet": _stack(dev_tabs, "device"),
        "links.parquet": _stack(link_tabs, "link"),
    }


def write_shard(root: Path, index: int, tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Write the tables of one shard atomically (a temporary folder renamed into place).

    Returns:
        ``{file name: SHA-256 hex digest}`` of the written files, also written to the shard's
        :data:`CHECKSUM_FILE`.
    """
    final = root / shard_name(index)
    tmp = root / f"{TMP_PREFIX}{shard_name(index)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        sums: dict[str, str] = {}
        for fname, df in tables.items():
            df.to_parquet(tmp / fname, index=False)
            sums[fname] = _sha256_file(tmp / fname)
        (tmp / CHECKSUM_FILE).write_text("".join(f"{h}  {f}\n" for f, h in sums.items()))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sums


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_checksum_file(shard_dir: Path) -> dict[str, str] | None:
    """The shard's :data:`CHECKSUM_FILE` as ``{file: digest}``; ``None`` if it has none.

    Raises:
        ValueError: If the file exists but is malformed or does not cover :data:`SHARD_FILES`.
    """
    path = shard_dir / CHECKSUM_FILE
    if not path.is_file():
        return None
    sums: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        digest, sep, fname = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"{CHECKSUM_FILE} has a malformed line {line[:80]!r}")
        sums[fname] = digest
    if sorted(sums) != sorted(SHARD_FILES):
        raise ValueError(f"{CHECKSUM_FILE} lists {sorted(sums)}, not {sorted(SHARD_FILES)}")
    return sums


def expected_checksums(shard_dir: Path, recorded: Any) -> dict[str, str] | None:
    """Checksums a shard must match: the manifest's, else its own file; ``None`` if neither.

    Raises:
        ValueError: If the manifest's record is malformed or the shard's file is.
    """
    if recorded is None:
        return _read_checksum_file(shard_dir)
    if not isinstance(recorded, dict) or sorted(recorded) != sorted(SHARD_FILES):
        raise ValueError(f"the manifest's sha256 record {recorded!r} is malformed")
    return {str(k): str(v) for k, v in recorded.items()}


def checksum_mismatch(fname: str, expected: str, found: str) -> str:
    """The message for a shard file whose SHA-256 digest is not the recorded one."""
    return (
        f"{fname} does not match its SHA-256 checksum (recorded {expected[:16]}..., "
        f"found {found[:16]}...): the file is corrupt"
    )


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file renamed into place."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False))
    os.replace(tmp, path)


def read_manifest(root: Path) -> dict[str, Any]:
    """Read the manifest of the dataset in ``root``.

    Raises:
        DatasetError: If it is missing, unreadable or not a dataset manifest.
    """
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"{str(root)!r} is not a dataset: {MANIFEST_NAME} is missing; create one with "
            f"`python -m datagen generate --out {root} ...`"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path} is corrupt: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != DATASET_FORMAT:
        raise DatasetError(
            f"{path} is not an {DATASET_FORMAT} manifest (format key missing or wrong)"
        )
    return data


def shard_ok(
    shard_dir: Path, expected_rows: int, recorded: Any = None
) -> tuple[str | None, dict[str, str] | None]:
    """Check a shard folder before resuming.

    Args:
        shard_dir: The shard folder.
        expected_rows: Samples the shard must hold.
        recorded: The manifest's ``sha256`` record of the shard, if any.

    Returns:
        ``(reason, checksums)``: ``reason`` is ``None`` if the shard is complete and matches
        its checksums (the manifest's, else its :data:`CHECKSUM_FILE`), else why it is not
        (``"missing"`` if there is no folder); ``checksums`` are the verified digests, or
        ``None`` for a shard written before checksums existed.
    """
    import pyarrow.parquet as pq

    if not shard_dir.is_dir():
        return "missing", None
    try:
        expected = expected_checksums(shard_dir, recorded)
    except ValueError as exc:
        return str(exc), None
    for fname in SHARD_FILES:
        f = shard_dir / fname
        if not f.is_file():
            return f"{fname} is missing", None
        if expected is not None:
            found = _sha256_file(f)
            if found != expected[fname]:
                return checksum_mismatch(fname, expected[fname], found), None
        try:
            meta = pq.read_metadata(f)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            return f"{fname} is unreadable ({type(exc).__name__}: {exc})", None
        if fname == "scenarios.parquet" and meta.num_rows != expected_rows:
            return f"{fname} has {meta.num_rows} rows, expected {expected_rows}", None
    return None, expected


def prepare_out_dir(root: Path) -> None:
    """Create the output folder, or raise a :class:`ValueError` saying why it cannot be used."""
    if root.exists() and not root.is_dir():
        raise ValueError(
            f"output folder {str(root)!r} is a file, not a directory; choose a folder path "
            f"(it is created if needed)"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot create the output folder {str(root)!r}: {exc.strerror or exc}; choose "
            f"a writable folder path"
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ValueError(
            f"output folder {str(root)!r} is not writable; choose a writable folder path"
        )


def clear_dataset(root: Path) -> None:
    """Delete what :func:`generate` writes in ``root`` (manifest, shards, temporaries) only."""
    removed = 0
    for entry in root.iterdir():
        name = entry.name
        is_shard = _SHARD_RE.fullmatch(name) is not None
        if not (is_shard or name == MANIFEST_NAME or name.startswith(TMP_PREFIX)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:  # a file or a link: remove the entry itself, never what a link points to
            entry.unlink()
        removed += is_shard
    if removed:
        log.info("overwrite: deleted %d shards of the dataset in %s", removed, root)


def adopted_settings(
    root: Path,
    cfg_dict: dict[str, Any],
    seed: int,
    num_samples: int,
    shard_size: int | None,
) -> tuple[dict[str, Any] | None, int | None]:
    """Check ``root`` against the command before resuming.

    Returns:
        ``(old manifest or None, shard size)``: the shard size is the manifest's when the
        command did not give one.

    Raises:
        ValueError: If ``root`` holds a dataset made with other settings, an unreadable
            manifest, or shard folders without a manifest.
    """
    hint = (
        "pass overwrite=True (--overwrite) to delete it and start again, or choose another "
        "output folder"
    )
    if not (root / MANIFEST_NAME).exists():
        shards = sorted(p.name for p in root.iterdir() if _SHARD_RE.fullmatch(p.name))
        if shards:
            listed = ", ".join(shards[:3]) + (", ..." if len(shards) > 3 else "")
            raise ValueError(
                f"{root} holds {len(shards)} shard folders ({listed}) but no {MANIFEST_NAME}: "
                f"they may come from another seed or config and cannot be resumed safely; "
                f"{hint}"
            )
        return None, shard_size
    try:
        old = read_manifest(root)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; {hint}") from None
    if shard_size is None:
        old_size = old.get("shard_size")
        if is_int(old_size) and old_size >= 1:
            shard_size = old_size
    settings: tuple[tuple[str, Any], ...] = (
        ("config", cfg_dict), ("seed", seed), ("num_samples", num_samples),
        ("shard_size", shard_size),
    )
    for key, value in settings:
        if old.get(key) != value:
            what = (
                _config_difference(old.get(key), cfg_dict) if key == "config"
                else f"{key}={old.get(key)!r}, not {value!r}"
            )
            raise ValueError(
                f"{root} already holds a dataset with {what}; rerun with the original settings "
                f"to resume, or {hint}"
            )
    return old, shard_size


def _config_difference(old: Any, new: dict[str, Any]) -> str:
    """Say briefly how a manifest's config differs from the command's."""
    if not isinstance(old, dict):
        return f"config={old!r}"
    if old.get("regime") != new.get("regime"):
        return f"config regime {old.get('regime')!r}, not {new.get('regime')!r}"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return f"a {new.get('regime')!r} config that differs in {keys}"



def update_counts(manifest: dict[str, Any]) -> None:
    """Refresh the manifest's ``counts`` and ``complete`` from its shards' statuses."""
    done = [s for s in manifest["shards"] if s["status"] == "done"]
    manifest["counts"] = {
        "shards_done": len(done),
        "samples_done": sum(s["stop"] - s["start"] for s in done),
        "service_rows": sum(s.get("service_rows", 0) for s in done),
        "device_rows": sum(s.get("device_rows", 0) for s in done),
        "link_rows": sum(s.get("link_rows", 0) for s in done),
    }
    manifest["complete"] = len(done) == manifest["num_shards"]


