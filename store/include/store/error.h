#pragma once
/// @file
/// store/'s errors. Policy: every operation that touches LMDB or the disk returns a
/// std::error_code (no exceptions); LMDB's own codes are reported in lmdb_category() with
/// mdb_strerror's text, store-level conditions in store_category(). A failed write transaction
/// is always aborted, never reused.

#include <system_error>

namespace edgeid::store {

enum class errc {
  ok = 0,
  corrupt_value,       ///< a value failed to decode (bad length, unknown format version)
  map_full,            ///< the map reached its configured maximum size
  schema_too_new,      ///< the database was written by a newer edgeid
  environment_in_use,  ///< another process has the environment open (compact refuses)
  not_open,            ///< the store was used before open() succeeded
};

const std::error_category& store_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

/// LMDB return codes (MDB_* and errno values LMDB passes through), with mdb_strerror's text.
const std::error_category& lmdb_category() noexcept;
inline std::error_code lmdb_error(int rc) noexcept {
  return {rc, lmdb_category()};
}

}  // namespace edgeid::store

template <>
struct std::is_error_code_enum<edgeid::store::errc> : std::true_type {};
