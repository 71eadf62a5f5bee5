#include "store/lmdb_env.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <utility>

#include <lmdb.h>

#include "store/error.h"

namespace edgeid::store {

namespace {

MDB_val to_val(Bytes b) noexcept {
  return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())};
}
Bytes from_val(const MDB_val& v) noexcept {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}

std::optional<Bytes> get_in(MDB_txn* txn, unsigned dbi, Bytes key, std::error_code& ec) {
  ec.clear();
  MDB_val k = to_val(key);
  MDB_val v{};
  const int rc = ::mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) {
    ec = lmdb_error(rc);
    return std::nullopt;
  }
  return from_val(v);
}

}  // namespace

Environment::~Environment() {
  close();
}

void Environment::close() noexcept {
  if (env_ != nullptr) ::mdb_env_close(env_);
  env_ = nullptr;
}

std::error_code Environment::open(const EnvironmentOptions& options, int* stale_readers) {
  close();
  options_ = options;
  std::error_code ec;
  if (!options.read_only) {
    std::filesystem::create_directories(options.directory, ec);
    if (ec) return ec;
    ::chmod(options.directory.c_str(), 0700);
  }
  int rc = ::mdb_env_create(&env_);
  if (rc != 0) return lmdb_error(rc);
  auto fail = [this](int code) {
    close();
    return lmdb_error(code);
  };
  if ((rc = ::mdb_env_set_maxdbs(env_, options.max_databases)) != 0) return fail(rc);
  if ((rc = ::mdb_env_set_maxreaders(env_, options.max_readers)) != 0) return fail(rc);
  // An existing, larger map wins: LMDB adopts the file's size when it is bigger.
  if ((rc = ::mdb_env_set_mapsize(env_, options.initial_map_size)) != 0) return fail(rc);
  unsigned flags = MDB_NOTLS;
  if (options.no_sync) flags |= MDB_NOSYNC;
  if (options.read_only) flags |= MDB_RDONLY;
  if ((rc = ::mdb_env_open(env_, options.directory.c_str(), flags, 0600)) != 0) return fail(rc);
  MDB_envinfo info{};
  ::mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  int dead = 0;
  ::mdb_reader_check(env_, &dead);
  if (stale_readers != nullptr) *stale_readers = dead;
  return {};
}

std::error_code Environment::release_mapped_pages() {
  if (env_ == nullptr) return {};
  // LMDB keeps its map's address to itself (mdb_env_info reports one only for MDB_FIXEDMAP):
  // find the mappings of the data file, by device and inode, in /proc/self/maps.
  mdb_filehandle_t fd{};
  if (const int rc = ::mdb_env_get_fd(env_, &fd); rc != 0) return lmdb_error(rc);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {errno, std::generic_category()};
  std::ifstream maps("/proc/self/maps");
  if (!maps) return std::make_error_code(std::errc::no_such_file_or_directory);
  std::error_code result;
  for (std::string text; std::getline(maps, text);) {
    const char* line = text.c_str();
    unsigned long start = 0, end = 0;  // an address: the size of a pointer on Linux
    unsigned long long offset = 0, inode = 0;
    unsigned major_id = 0, minor_id = 0;
    char perms[8] = {};
    // NOLINTNEXTLINE(cert-err34-c): a line that does not parse is skipped
    if (std::sscanf(line, "%lx-%lx %7s %llx %x:%x %llu", &start, &end, perms, &offset, &major_id,
                    &minor_id, &inode) != 7) {
      continue;
    }
    if (inode != st.st_ino || major_id != major(st.st_dev) || minor_id != minor(st.st_dev)) {
      continue;
    }
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the address /proc/self/maps gives
    if (::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) != 0) {
      result = {errno, std::generic_category()};
    }
  }
  return result;
}

std::error_code Environment::open_database(const char* name, unsigned flags, unsigned& dbi) {
  MDB_txn* txn = nullptr;
  const bool ro = options_.read_only;
  int rc = ::mdb_txn_begin(env_, nullptr, ro ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return lmdb_error(rc);
  MDB_dbi handle = 0;
  rc =
      ::mdb_dbi_open(txn, name, ro ? (flags & ~static_cast<unsigned>(MDB_CREATE)) : flags, &handle);
  if (rc != 0) {
    ::mdb_txn_abort(txn);
    return lmdb_error(rc);
  }
  rc = ::mdb_txn_commit(txn);
  if (rc != 0) return lmdb_error(rc);
  dbi = handle;
  return {};
}

std::error_code Environment::grow() {
  if (map_size_ >= options_.max_map_size) return errc::map_full;
  std::size_t next = map_size_ * 2;
  if (next > options_.max_map_size) next = options_.max_map_size;
  const int rc = ::mdb_env_set_mapsize(env_, next);
  if (rc != 0) return lmdb_error(rc);
  MDB_envinfo info{};
  ::mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  return {};
}

std::error_code Environment::sync(bool force) {
  const int rc = ::mdb_env_sync(env_, force ? 1 : 0);
  return rc == 0 ? std::error_code() : lmdb_error(rc);
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) ::mdb_txn_abort(txn_);
}
ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : txn_(std::exchange(other.txn_, nullptr)), active_(std::exchange(other.active_, false)) {}
ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    if (txn_ != nullptr) ::mdb_txn_abort(txn_);
    txn_ = std::exchange(other.txn_, nullptr);
    active_ = std::exchange(other.active_, false);
  }
  return *this;
}

std::error_code ReadTxn::begin(Environment& env) {
  if (txn_ != nullptr) {
    ::mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
  const int rc = ::mdb_txn_begin(env.handle(), nullptr, MDB_RDONLY, &txn_);
  if (rc != 0) {
    txn_ = nullptr;
    return lmdb_error(rc);
  }
  active_ = true;
  return {};
}

void ReadTxn::reset() noexcept {
  if (txn_ != nullptr && active_) ::mdb_txn_reset(txn_);
  active_ = false;
}

std::error_code ReadTxn::renew() {
  if (txn_ == nullptr) return errc::not_open;
  if (active_) ::mdb_txn_reset(txn_);
  const int rc = ::mdb_txn_renew(txn_);
  if (rc != 0) return lmdb_error(rc);
  active_ = true;
  return {};
}

std::optional<Bytes> ReadTxn::get(unsigned dbi, Bytes key, std::error_code& ec) const {
  return get_in(txn_, dbi, key, ec);
}

WriteTxn::~WriteTxn() {
  abort();
}

std::error_code WriteTxn::begin(Environment& env) {
  abort();
  const int rc = ::mdb_txn_begin(env.handle(), nullptr, 0, &txn_);
  if (rc != 0) {
    txn_ = nullptr;
    return lmdb_error(rc);
  }
  return {};
}

std::error_code WriteTxn::put(unsigned dbi, Bytes key, Bytes value, unsigned flags) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  const int rc = ::mdb_put(txn_, dbi, &k, &v, flags);
  return rc == 0 ? std::error_code() : lmdb_error(rc);
}

std::error_code WriteTxn::del(unsigned dbi, Bytes key) {
  MDB_val k = to_val(key);
  const int rc = ::mdb_del(txn_, dbi, &k, nullptr);
  return (rc == 0 || rc == MDB_NOTFOUND) ? std::error_code() : lmdb_error(rc);
}

std::error_code WriteTxn::del(unsigned dbi, Bytes key, Bytes value) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  const int rc = ::mdb_del(txn_, dbi, &k, &v);
  return (rc == 0 || rc == MDB_NOTFOUND) ? std::error_code() : lmdb_error(rc);
}

std::optional<Bytes> WriteTxn::get(unsigned dbi, Bytes key, std::error_code& ec) const {
  return get_in(txn_, dbi, key, ec);
}

std::error_code WriteTxn::commit() {
  if (txn_ == nullptr) return errc::not_open;
  const int rc = ::mdb_txn_commit(txn_);
  txn_ = nullptr;  // committed or not, LMDB has freed the transaction
  return rc == 0 ? std::error_code() : lmdb_error(rc);
}

void WriteTxn::abort() noexcept {
  if (txn_ != nullptr) ::mdb_txn_abort(txn_);
  txn_ = nullptr;
}

Cursor::Cursor(MDB_txn* txn, unsigned dbi, std::error_code& ec) {
  const int rc = ::mdb_cursor_open(txn, dbi, &cursor_);
  if (rc != 0) {
    cursor_ = nullptr;
    ec = lmdb_error(rc);
  }
}

Cursor::~Cursor() {
  if (cursor_ != nullptr) ::mdb_cursor_close(cursor_);
}

bool Cursor::step(int op, std::error_code& ec, Bytes from) {
  ec.clear();
  if (cursor_ == nullptr) {
    ec = errc::not_open;
    return false;
  }
  MDB_val k = to_val(from);
  MDB_val v{};
  const int rc = ::mdb_cursor_get(cursor_, &k, &v, static_cast<MDB_cursor_op>(op));
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) {
    ec = lmdb_error(rc);
    return false;
  }
  key_ = from_val(k);
  value_ = from_val(v);
  return true;
}

bool Cursor::first(std::error_code& ec) {
  return step(MDB_FIRST, ec);
}
bool Cursor::seek(Bytes from, std::error_code& ec) {
  return step(MDB_SET_RANGE, ec, from);
}
bool Cursor::next(std::error_code& ec) {
  return step(MDB_NEXT, ec);
}
bool Cursor::next_dup(std::error_code& ec) {
  return step(MDB_NEXT_DUP, ec);
}

}  // namespace edgeid::store
