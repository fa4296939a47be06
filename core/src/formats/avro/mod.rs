//! Avro object container files: schema mapping both ways, a streaming reader (rows decoded by
//! `apache-avro`, assembled into Arrow through `arrow_json`), and a block-by-block writer.
//!
//! | file        | holds                                                               |
//! |-------------|---------------------------------------------------------------------|
//! | `schema.rs` | Avro schema → Arrow ([`avro_to_arrow`]) and Arrow → Avro ([`arrow_to_avro`]) |
//! | `header.rs` | the container header, checked before the Avro crate allocates from it |
//! | `blocks.rs` | `CheckedBlocks`: each data block checked (sizes, counts, sync) before it is read |
//! | `decode.rs` | [`AvroReader`]: Avro values → JSON text → Arrow batches              |
//! | `encode.rs` | [`AvroBlockWriter`]: Arrow values → Avro blocks; [`parse_codec`]     |
//! | `datum.rs`  | plain Arrow rows → Avro datum bytes directly, no Avro values (the fast path) |

mod blocks;
mod datum;
mod decode;
mod encode;
mod header;
mod schema;

pub use decode::AvroReader;
pub use encode::{parse_codec, AvroBlockWriter};
pub use schema::{arrow_to_avro, avro_to_arrow};

pub(super) use decode::open_stream;
pub(super) use encode::new_avro_writer;
