"""The zstd decoder aiokafka's record batches read through (`mappa_bus.kafka_zstd`): the bytes
aiokafka's own decoder gives, for every frame a producer writes, and the same refusals."""

from __future__ import annotations

import io

import cramjam
import pytest
import zstandard
from aiokafka.record import default_records as pure
from aiokafka.record._crecords import default_records as compiled

from mappa_bus import kafka_zstd

PAYLOAD = b'{"specversion":"1.0","type":"uk.gov.mappa.probation.recall-issued"}' * 30


def _streamed(payload: bytes) -> bytes:
    """`payload` as a streaming compressor writes it (Java's producer): no content size in the
    frame's header."""
    out = io.BytesIO()
    with zstandard.ZstdCompressor(write_content_size=False).stream_writer(
        out, closefd=False
    ) as writer:
        writer.write(payload)
    return out.getvalue()


def test_aiokafkas_record_batches_read_zstd_through_it() -> None:
    # An aiokafka that no longer looks the decoder up there would silently go back to its own.
    kafka_zstd.install()
    assert compiled.zstd_decode is kafka_zstd.decode
    assert pure.zstd_decode is kafka_zstd.decode


@pytest.mark.parametrize(
    "frame",
    [
        bytes(cramjam.zstd.compress(PAYLOAD, level=3)),  # aiokafka's producer (cramjam)
        _streamed(PAYLOAD),
        bytes(cramjam.zstd.compress(b"", level=3)),
    ],
    ids=["with-content-size", "streamed", "empty"],
)
def test_it_reads_every_frame_as_aiokafkas_own_decoder_does(frame: bytes) -> None:
    assert kafka_zstd.decode(frame) == bytes(cramjam.zstd.decompress(frame))


def test_two_frames_in_one_batch_are_read_whole() -> None:
    frame = bytes(cramjam.zstd.compress(PAYLOAD, level=3))
    assert kafka_zstd.decode(frame + _streamed(b"more")) == PAYLOAD + b"more"


def test_a_truncated_frame_is_refused_as_aiokafkas_own_decoder_refuses_it() -> None:
    frame = bytes(cramjam.zstd.compress(PAYLOAD, level=3))
    with pytest.raises(cramjam.DecompressionError):
        kafka_zstd.decode(frame[:-4])


def test_a_batch_built_by_aiokafka_reads_back_record_for_record() -> None:
    kafka_zstd.install()
    builder = compiled.DefaultRecordBatchBuilder(
        magic=2,
        compression_type=compiled.DefaultRecordBatch.CODEC_ZSTD,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    values = [PAYLOAD + str(n).encode() for n in range(5)]
    for offset, value in enumerate(values):
        builder.append(offset, timestamp=None, key=b"KEN-1", value=value, headers=[])
    batch = compiled.DefaultRecordBatch(bytes(builder.build()))
    assert [record.value for record in batch] == values
