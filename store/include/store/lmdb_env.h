#pragma once
/// @file
/// Thin RAII over LMDB: Environment, ReadTxn (reusable through reset/renew), WriteTxn and Cursor.
///
/// Ownership: an Environment owns the MDB_env; transactions and cursors borrow it and must not
/// outlive it. Values returned by get()/cursors point into the memory map and are valid only
/// until the transaction ends (LMDB's MDB_val rule) — copy or decode before then.
/// Thread safety: the environment is opened with MDB_NOTLS, so a ReadTxn may move between threads
/// but is used by one thread at a time; at most one WriteTxn exists at a time (LMDB serialises
/// writers). Errors: std::error_code in lmdb_category(); a WriteTxn whose operation failed is
/// aborted by its owner, never committed.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

namespace edgeid::store {

using Bytes = std::span<const std::uint8_t>;

inline Bytes as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct EnvironmentOptions {
  std::filesystem::path directory;
  std::size_t initial_map_size = std::size_t{64} << 20;  ///< 64 MiB
  std::size_t max_map_size = std::size_t{4} << 30;       ///< grows up to this, then errc::map_full
  unsigned max_databases = 16;
  unsigned max_readers = 126;
  /// false: every commit is fsync'ed (default). true: MDB_NOSYNC, the caller syncs periodically;
  /// a crash of the OS (not of the process) may lose commits since the last sync.
  bool no_sync = false;
  bool read_only = false;
};

class Environment {
 public:
  Environment() = default;
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  /// Creates the directory if needed (mode 0700), opens data.mdb with MDB_NOTLS, and clears stale
  /// reader slots left by dead processes. @p stale_readers receives how many were cleared.
  std::error_code open(const EnvironmentOptions& options, int* stale_readers = nullptr);
  bool is_open() const noexcept { return env_ != nullptr; }
  void close() noexcept;

  /// Handle of a named database (created when @p create, in its own write transaction).
  std::error_code open_database(const char* name, unsigned flags, unsigned& dbi);

  /// Doubles the map size, bounded by max_map_size. Only when no transaction of this process is
  /// active. Returns errc::map_full when already at the maximum.
  std::error_code grow();
  std::size_t map_size() const noexcept { return map_size_; }
  const EnvironmentOptions& options() const noexcept { return options_; }

  std::error_code sync(bool force = true);

  /// Unmaps from this process the pages of the data file it has touched through the map
  /// (madvise MADV_DONTNEED on the shared, read-only map). The pages stay in the OS page cache
  /// and the next read maps them again, so nothing is lost and values already returned stay
  /// valid; the process's resident size stops counting file pages it no longer reads. Safe
  /// while transactions are open (LMDB never writes through the map unless MDB_WRITEMAP, which
  /// this wrapper does not use).
  std::error_code release_mapped_pages();

  MDB_env* handle() const noexcept { return env_; }

 private:
  MDB_env* env_ = nullptr;
  EnvironmentOptions options_;
  std::size_t map_size_ = 0;
};

/// A read-only snapshot. reset() releases the snapshot but keeps the reader slot; renew() takes a
/// fresh snapshot in the same slot (LMDB's cheap reuse path).
class ReadTxn {
 public:
  ReadTxn() = default;
  ~ReadTxn();
  ReadTxn(ReadTxn&& other) noexcept;
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

  std::error_code begin(Environment& env);
  void reset() noexcept;
  std::error_code renew();
  bool active() const noexcept { return txn_ != nullptr && active_; }

  /// std::nullopt when the key is absent; @p ec set on any other error.
  std::optional<Bytes> get(unsigned dbi, Bytes key, std::error_code& ec) const;
  MDB_txn* handle() const noexcept { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
  bool active_ = false;
};

/// A write transaction; aborted by the destructor unless committed.
class WriteTxn {
 public:
  WriteTxn() = default;
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  std::error_code begin(Environment& env);
  std::error_code put(unsigned dbi, Bytes key, Bytes value, unsigned flags = 0);
  /// Deletes @p key (all duplicates for a dupsort database). Absent keys are not an error.
  std::error_code del(unsigned dbi, Bytes key);
  std::error_code del(unsigned dbi, Bytes key, Bytes value);
  std::optional<Bytes> get(unsigned dbi, Bytes key, std::error_code& ec) const;
  std::error_code commit();
  void abort() noexcept;
  MDB_txn* handle() const noexcept { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

/// Iterates a database in key order inside a transaction.
class Cursor {
 public:
  Cursor(MDB_txn* txn, unsigned dbi, std::error_code& ec);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  /// Positions at the first entry (or the first key >= @p from); false at the end or on error.
  bool first(std::error_code& ec);
  bool seek(Bytes from, std::error_code& ec);
  bool next(std::error_code& ec);
  bool next_dup(std::error_code& ec);
  MDB_cursor* handle() const noexcept { return cursor_; }
  Bytes key() const noexcept { return key_; }
  Bytes value() const noexcept { return value_; }

 private:
  bool step(int op, std::error_code& ec, Bytes from = {});
  MDB_cursor* cursor_ = nullptr;
  Bytes key_;
  Bytes value_;
};

}  // namespace edgeid::store
