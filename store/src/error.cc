#include "store/error.h"

#include <iterator>

#include <lmdb.h>

#include "platform/error.h"

namespace edgeid::store {

const std::error_category& store_category() noexcept {
  static constexpr const char* kMessages[] = {
      "success",
      "corrupt value",
      "store is full: the map reached its configured maximum size",
      "database schema is newer than this edgeid",
      "environment is in use by another process",
      "store is not open"};
  static const platform::TableCategory category("edgeid.store", kMessages,
                                                static_cast<int>(std::size(kMessages)));
  return category;
}

namespace {
class LmdbCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "lmdb"; }
  std::string message(int rc) const override { return ::mdb_strerror(rc); }
  std::error_condition default_error_condition(int rc) const noexcept override {
    // Errno values LMDB passes through (ENOSPC, EACCES, ...) compare equal to std::errc.
    if (rc > 0) return std::generic_category().default_error_condition(rc);
    return {rc, *this};
  }
};
}  // namespace

const std::error_category& lmdb_category() noexcept {
  static const LmdbCategory category;
  return category;
}

}  // namespace edgeid::store
