"""The case keys of crypto-shredding (docs/decisions/0002-erasure-reaching-the-log.md): one
AES-256 key per case, which seals every record of the case on `mappa.record`; destroying it
erases them all, wherever copies of the topic are.

The keys sit in the table `case_keys` of their own database (`MAPPA_KEY_STORE_URL`), never in
the clear: each is wrapped (AES-256-GCM, bound to its case id) by the key-encryption key, read
from a file readable by its owner alone (`MAPPA_KEY_ENCRYPTION_KEY`; or a Kubernetes Secret
mounted for the pod's group alone, `key_file_exposure`; in production a KMS key, Azure Key
Vault or AWS KMS, does the wrapping and the key never leaves it). Lose the key store
or the key-encryption key and the record is lost: back them up with the same care as the log.

`key_for` makes a case's key on first use (the intake); `opener_for` finds it to open records
(the slices), None once destroyed; `destroy_key` overwrites it and records the decision. A small
bounded cache of unwrapped keys keeps the database off the path of nearly every record; an entry
lives at most `ttl` seconds, so a key destroyed by another process stops opening records here
within that time (at once in the destroying process).
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    select,
    update,
)

from mappa_bus.projection.database import create_tables, insert_missing, open_engine
from mappa_bus.sealing import KEY_BYTES, NONCE_BYTES, new_key

metadata = MetaData()

case_keys_table = Table(
    "case_keys",
    metadata,
    Column("case_id", String(64), primary_key=True),
    # nonce + AES-GCM of the key under the key-encryption key; NULL once destroyed.
    Column("key", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
    # The recorded decision the key was destroyed on, and who carried it out.
    Column("decision", String(200), nullable=True),
    Column("destroyed_by", String(200), nullable=True),
)

# A year of an area is a few thousand cases, the nation a hundred thousand: a replay meets them
# over and over, and a miss is a read of the store. 65,536 keys are a few tens of MB.
CACHE_KEYS = 1 << 16
CACHE_SECONDS = 60.0


# What the case's key for ids is derived with (HMAC-SHA256 of the label under the case key): a
# key of its own, so that no id made with it is ever an output of the cipher.
_IDS_LABEL = b"mappa-bus: ids of the bus's own events about the case, v1"


class CaseKey(NamedTuple):
    """A case's key (`cipher`, which seals and opens), and a key derived from it for ids that
    must not be guessable (`ids`, for HMAC-SHA256): destroyed with it."""

    cipher: AESGCM
    ids: bytes


class KeyStoreError(RuntimeError):
    """A key-encryption key that cannot be used, or a key store that does not match it."""


class KeyDestroyed(LookupError):
    """The case's key was destroyed: its records are erased, and it gets no new one."""


class KeyMissing(LookupError):
    """No key was ever made for the case: a record sealed under it came from another store."""


def read_key_encryption_key(path: Path) -> AESGCM:
    """The key-encryption key in `path` (64 hex digits), which none but its owner may read, or
    a mount managed by root that only this process's own group may read
    (`key_file_exposure`); KeyStoreError naming the file and what is wrong."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise KeyStoreError(f"cannot read a key-encryption key from {path}: {error}") from error
    exposure = key_file_exposure(
        info.st_mode, info.st_uid, info.st_gid, uid=os.geteuid(), groups=_own_groups()
    )
    if exposure is not None:
        raise KeyStoreError(f"{path} {exposure}")
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise KeyStoreError(f"{path} is not 64 hex digits") from None
    if len(secret) != KEY_BYTES:
        raise KeyStoreError(f"{path} holds {len(secret)} bytes; a key-encryption key is 32")
    return AESGCM(secret)


def key_file_exposure(
    mode: int, owner: int, group: int, *, uid: int, groups: frozenset[int]
) -> str | None:
    """Who besides this process could read or change a key file (mode, owner and group as
    `stat` gives them; `uid` and `groups` this process's): None when nobody, else what is wrong
    and what to do about it.

    A file this process owns (what `write_key_encryption_key` and `mappa keys encryption-key`
    make: docker compose's volume, `mappa up`'s state directory) must be 0600 or stricter: its
    owner can always make it so. One exception, chosen deliberately: a Kubernetes Secret
    mounted with the pod's `fsGroup` is owned by root and made readable by that group (the
    kubelet adds group read to `defaultMode`: 0400 becomes 0440, kubernetes/kubernetes#57923),
    and a non-root process can read it no other way. Such a file is accepted when root owns
    it, its group is one of this process's own, the group may only read it and others may do
    nothing with it: no one but root can change it, and only the pod's own processes read it.
    A file owned by another user, or open to a group this process is not in, is refused
    whatever its mode."""
    if mode & stat.S_IRWXO:
        return "is readable by others than its owner: chmod 600 it"
    if owner == uid:
        if mode & stat.S_IRWXG:
            return "is readable by others than its owner: chmod 600 it"
        return None
    if owner != 0:
        return f"belongs to user {owner}, not to this process's ({uid}): chown it"
    if mode & (stat.S_IWGRP | stat.S_IXGRP) or (mode & stat.S_IRGRP and group not in groups):
        return (
            f"is root's and open to group {group}, not only for this process's group to "
            "read: mount it readable by the pod's fsGroup alone (defaultMode 0440)"
        )
    return None


def _own_groups() -> frozenset[int]:
    return frozenset((os.getegid(), *os.getgroups()))


def write_key_encryption_key(path: Path, *, replace: bool = False) -> None:
    """A fresh key-encryption key in `path`, created 0600 (never briefly readable by others);
    refuses (FileExistsError) to replace one, which would make every key wrapped by it
    unreadable, unless told to `replace` it (for a key store that holds no key yet): then the
    new key is written beside it and moved over it, so the file is never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(f".{path.name}.new") if replace else path
    if replace:
        target.unlink(missing_ok=True)  # left by a replacement that crashed half way
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
    if replace:
        os.replace(target, path)


def open_key_store_engine(url: str) -> Engine:
    """An engine on the key store at `url`; on SQLite, deleted and overwritten content is
    zeroed in the file (`secure_delete`), so a destroyed key does not linger in a free page."""
    engine = open_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _secure_delete)
    return engine


def _secure_delete(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


@dataclass
class KeyStore:
    """The case keys in `engine`'s `case_keys`, wrapped by `kek`."""

    engine: Engine
    kek: AESGCM
    capacity: int = CACHE_KEYS
    ttl: float = CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._cache: OrderedDict[str, tuple[CaseKey, float]] = OrderedDict()

    def create_schema(self) -> None:
        """Create `case_keys` where missing."""
        create_tables(self.engine, metadata, [case_keys_table])

    def key_for(self, case_id: str) -> AESGCM:
        """The case's key, made and stored on first use (another process making it at the same
        moment is fine: the first stored wins, and both use it); KeyDestroyed once destroyed."""
        cipher = self.keys_for([case_id])[case_id]
        if cipher is None:
            raise KeyDestroyed(case_id)
        return cipher

    def keys_for(self, case_ids: Iterable[str]) -> dict[str, AESGCM | None]:
        """Each case's key as `key_for` gives it (None for a destroyed one), the ones not yet
        made made and stored in one transaction: a replay meets thousands of new cases, and a
        transaction each was most of the intake's time."""
        made = self.case_keys_for(case_ids)
        return {case_id: None if key is None else key.cipher for case_id, key in made.items()}

    def case_keys_for(self, case_ids: Iterable[str]) -> dict[str, CaseKey | None]:
        """As `keys_for`, each with the key for ids derived from it (`CaseKey`)."""
        keys: dict[str, CaseKey | None] = {}
        wanted = []
        for case_id in dict.fromkeys(case_ids):
            cached = self._cached(case_id)
            if cached is None:
                wanted.append(case_id)
            else:
                keys[case_id] = cached
        if not wanted:
            return keys
        now = _now()
        column = case_keys_table.c
        with self.engine.begin() as connection:
            insert_missing(
                connection,
                case_keys_table,
                [
                    {"case_id": case_id, "key": self._wrap(case_id, new_key()), "created_at": now}
                    for case_id in wanted
                ],
            )
            rows = connection.execute(
                select(column.case_id, column.key, column.destroyed_at).where(
                    column.case_id.in_(wanted)
                )
            ).all()
        for row in rows:
            keys[row.case_id] = self._unwrapped(row)
        return keys

    def opener_for(self, case_id: str) -> AESGCM | None:
        """The case's key to open its records, None when it was destroyed (they are erased);
        KeyMissing when no key was ever made for it."""
        key = self.case_key(case_id)
        return None if key is None else key.cipher

    def case_key(self, case_id: str) -> CaseKey | None:
        """As `opener_for`, with the key for ids derived from it (`CaseKey`)."""
        cached = self._cached(case_id)
        if cached is not None:
            return cached
        try:
            return self._stored(case_id)
        except KeyDestroyed:
            return None

    def destroy_key(self, case_id: str, decision: str, by: str) -> bool:
        """Destroy the case's key on the recorded `decision`, carried out `by` whom: its wrapped
        bytes overwritten with zeros, then dropped, and the row kept, marked, so that no new key
        is ever made for the case. True when a key was destroyed now (a case with no key yet
        gets the marked row, so none is made later)."""
        self._cache.pop(case_id, None)
        now = _now()
        with self.engine.begin() as connection:
            insert_missing(
                connection,
                case_keys_table,
                [{"case_id": case_id, "key": None, "created_at": now}],
            )
            live = case_keys_table.c.case_id == case_id
            # Overwritten in place first, so the page that held the key holds zeros.
            connection.execute(
                update(case_keys_table)
                .where(live, case_keys_table.c.key.is_not(None))
                .values(key=bytes(NONCE_BYTES + KEY_BYTES + 16))
            )
            destroyed = connection.execute(
                update(case_keys_table)
                .where(live, case_keys_table.c.destroyed_at.is_(None))
                .values(key=None, destroyed_at=now, decision=decision, destroyed_by=by)
            ).rowcount
        self._cache.pop(case_id, None)
        return bool(destroyed)

    def destroyed(self, case_id: str) -> bool:
        """Whether the case's key has been destroyed."""
        with self.engine.connect() as connection:
            when = connection.scalar(
                select(case_keys_table.c.destroyed_at).where(case_keys_table.c.case_id == case_id)
            )
        return when is not None

    def _cached(self, case_id: str) -> CaseKey | None:
        entry = self._cache.get(case_id)
        if entry is None:
            return None
        cipher, fetched = entry
        if self.clock() - fetched > self.ttl:
            del self._cache[case_id]
            return None
        self._cache.move_to_end(case_id)
        return cipher

    def _stored(self, case_id: str) -> CaseKey:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(case_keys_table.c.key, case_keys_table.c.destroyed_at).where(
                    case_keys_table.c.case_id == case_id
                )
            ).one_or_none()
        if row is None:
            raise KeyMissing(f"no key was made for case {case_id} in this key store")
        key = self._unwrapped(row, case_id)
        if key is None:
            raise KeyDestroyed(case_id)
        return key

    def _unwrapped(self, row: Any, case_id: str | None = None) -> CaseKey | None:
        """The key a `case_keys` row holds, unwrapped and cached; None once destroyed."""
        case_id = row.case_id if case_id is None else case_id
        if row.destroyed_at is not None or row.key is None:
            return None
        secret = self._unwrap(case_id, bytes(row.key))
        key = CaseKey(AESGCM(secret), hmac.digest(secret, _IDS_LABEL, "sha256"))
        self._cache[case_id] = (key, self.clock())
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return key

    def _wrap(self, case_id: str, key: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self.kek.encrypt(nonce, key, case_id.encode())

    def _unwrap(self, case_id: str, wrapped: bytes) -> bytes:
        try:
            return self.kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], case_id.encode())
        except InvalidTag:
            raise KeyStoreError(
                f"the key of case {case_id} does not unwrap: another key-encryption key wrapped it"
            ) from None


def open_key_store(url: str, kek_path: Path) -> KeyStore:
    """The key store at `url`, its schema created where missing, wrapping with the key in
    `kek_path`."""
    store = KeyStore(open_key_store_engine(url), read_key_encryption_key(kek_path))
    store.create_schema()
    return store


def _now() -> datetime:
    return datetime.now(UTC)
