#include "store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <sys/file.h>
#include <sys/stat.h>
#include <unordered_map>

#include <lmdb.h>

#include "store/codec.h"
#include "store/error.h"

namespace edgeid::store {

namespace {

constexpr const char* kLockFile = "edgeid.lock";
constexpr const char* kMetaSchema = "schema_version";
constexpr const char* kMetaNextSeq = "next_seq";
constexpr const char* kMetaShedSuperseded = "outbox_shed_superseded";
constexpr const char* kMetaShedOldest = "outbox_shed_oldest";
constexpr const char* kMetaOverBound = "outbox_over_bound";
// deadletter_ when a read-only open found no such table.
constexpr unsigned kNoDatabase = ~0U;
constexpr const char* kMetaDeadParked = "deadletter_parked";
constexpr const char* kMetaDeadDropped = "deadletter_dropped";
constexpr const char* kMetaDeadReason = "deadletter_reason";

std::array<std::uint8_t, 8> be64(std::uint64_t v) {
  std::array<std::uint8_t, 8> b{};
  for (int i = 7; i >= 0; --i, v >>= 8) {
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
  }
  return b;
}
std::uint64_t read_be64(Bytes b) {
  std::uint64_t v = 0;
  for (auto byte : b) v = (v << 8) | byte;
  return v;
}
std::array<std::uint8_t, 4> be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

bool is_lmdb(const std::error_code& ec, int rc) {
  return ec.category() == lmdb_category() && ec.value() == rc;
}

std::error_code get_u64(WriteTxn& txn, unsigned dbi, std::string_view name, std::uint64_t& out) {
  std::error_code ec;
  auto v = txn.get(dbi, as_bytes(name), ec);
  if (ec) return ec;
  out = (v && v->size() == 8) ? read_be64(*v) : 0;
  return {};
}

std::error_code add_u64(WriteTxn& txn, unsigned dbi, std::string_view name, std::uint64_t delta) {
  if (delta == 0) return {};
  std::uint64_t v = 0;
  if (auto ec = get_u64(txn, dbi, name, v)) return ec;
  return txn.put(dbi, as_bytes(name), be64(v + delta));
}

// Holds an exclusive advisory lock on the data directory: one writer process at a time, and
// compaction only when no writer runs.
class DirLock {
 public:
  std::error_code acquire(const std::filesystem::path& dir) {
    fd_ = ::open((dir / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return {errno, std::system_category()};
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      release();
      return err == EWOULDBLOCK ? std::error_code(errc::environment_in_use)
                                : std::error_code(err, std::system_category());
    }
    return {};
  }
  void release() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  ~DirLock() { release(); }

 private:
  int fd_ = -1;
};

}  // namespace

// The lock lives beside the environment for as long as the store is open.
struct StoreLock {
  DirLock lock;
};

Store::Store() = default;
Store::~Store() {
  close();
}

std::error_code Store::open(const StoreOptions& options) {
  close();
  options_ = options;
  if (!options.environment.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(options.environment.directory, ec);
    if (ec) return ec;
    lock_ = std::make_unique<StoreLock>();
    if (auto lec = lock_->lock.acquire(options.environment.directory)) {
      lock_.reset();
      return lec;
    }
  }
  if (auto ec = env_.open(options.environment, &stale_readers_)) {
    close();
    return ec;
  }
  const unsigned create = options.environment.read_only ? 0u : static_cast<unsigned>(MDB_CREATE);
  struct Db {
    const char* name;
    unsigned flags;
    unsigned* dbi;
  };
  const Db dbs[] = {{"devices", create, &devices_},
                    {"intune", create, &intune_},
                    {"mac_index", create | MDB_DUPSORT | MDB_DUPFIXED, &mac_index_},
                    {"outbox", create, &outbox_},
                    {"deadletter", create, &deadletter_},
                    {"meta", create, &meta_},
                    {"strings", create, &strings_db_},
                    {"cache", create, &cache_}};
  for (const auto& db : dbs) {
    if (auto ec = env_.open_database(db.name, db.flags, *db.dbi)) {
      // A read-only reader of an environment written before dead letters existed.
      if (db.dbi == &deadletter_ && options.environment.read_only) {
        deadletter_ = kNoDatabase;
        continue;
      }
      close();
      return ec;
    }
  }
  std::error_code ec;
  if (!options.environment.read_only && (ec = check_schema(options))) {
    close();
    return ec;
  }
  if ((ec = load_strings())) {
    close();
    return ec;
  }
  // Sequence numbers never repeat, even after the outbox drained: they make idempotency keys.
  if ((ec = read_begin())) {
    close();
    return ec;
  }
  std::uint64_t next = std::max<std::uint64_t>(options.first_seq, 1);
  if (auto v = reader_.get(meta_, as_bytes(kMetaNextSeq), ec); v && v->size() == 8) {
    next = read_be64(*v);
  }
  for (const unsigned dbi : {outbox_, deadletter_}) {
    if (ec || dbi == kNoDatabase) continue;
    Cursor c(reader_.handle(), dbi, ec);
    MDB_val k{};
    MDB_val v{};
    // The last key is the newest item.
    if (!ec && ::mdb_cursor_get(c.handle(), &k, &v, MDB_LAST) == 0 && k.mv_size == 8) {
      next = std::max(next, read_be64({static_cast<const std::uint8_t*>(k.mv_data), 8}) + 1);
    }
  }
  reader_.reset();
  if (ec) {
    close();
    return ec;
  }
  next_seq_ = next;
  return {};
}

void Store::close() noexcept {
  reader_ = ReadTxn();
  env_.close();
  lock_.reset();
  strings_ = StringTable();
}

std::error_code Store::check_schema(const StoreOptions& options) {
  return write([&](WriteTxn& txn) -> std::error_code {
    std::error_code ec;
    auto v = txn.get(meta_, as_bytes(kMetaSchema), ec);
    if (ec) return ec;
    if (v) {
      if (v->size() != 8) return errc::corrupt_value;
      const auto found = read_be64(*v);
      if (found > kSchemaVersion) return errc::schema_too_new;
      if (found == kSchemaVersion) return {};
      if (options.migrate) {
        if (auto mec = options.migrate(static_cast<std::uint32_t>(found), txn)) return mec;
      }
    }
    return txn.put(meta_, as_bytes(kMetaSchema), be64(kSchemaVersion));
  });
}

std::error_code Store::load_strings() {
  if (auto ec = read_begin()) return ec;
  std::error_code ec;
  Cursor c(reader_.handle(), strings_db_, ec);
  for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
    if (c.key().size() != 4) continue;
    const auto id = static_cast<std::uint32_t>(read_be64(c.key()));
    strings_.load(id,
                  std::string(reinterpret_cast<const char*>(c.value().data()), c.value().size()));
  }
  reader_.reset();
  return ec;
}

std::error_code Store::read_begin() {
  if (!env_.is_open()) return errc::not_open;
  std::error_code ec = reader_.handle() == nullptr ? reader_.begin(env_) : reader_.renew();
  if (is_lmdb(ec, MDB_MAP_RESIZED)) {
    // Another process grew the map: adopt its size and try again.
    reader_ = ReadTxn();
    ::mdb_env_set_mapsize(env_.handle(), 0);
    ec = reader_.begin(env_);
  }
  return ec;
}

std::error_code Store::write(const std::function<std::error_code(WriteTxn&)>& body,
                             unsigned* growths) {
  if (!env_.is_open()) return errc::not_open;
  if (options_.environment.read_only) return std::make_error_code(std::errc::read_only_file_system);
  for (;;) {
    WriteTxn txn;
    std::error_code ec = txn.begin(env_);
    if (is_lmdb(ec, MDB_MAP_RESIZED)) {
      ::mdb_env_set_mapsize(env_.handle(), 0);
      ec = txn.begin(env_);
    }
    if (!ec) ec = body(txn);
    if (!ec) {
      // Interned strings staged by the body go into the same transaction.
      for (const auto& [id, text] : strings_.pending()) {
        if ((ec = txn.put(strings_db_, be32(id), as_bytes(text)))) break;
      }
    }
    if (!ec) ec = txn.commit();
    if (!ec) {
      strings_.commit_pending();
      return {};
    }
    txn.abort();
    strings_.rollback_pending();
    if (!is_lmdb(ec, MDB_MAP_FULL)) return ec;
    reader_.reset();
    if (auto gec = env_.grow()) return gec;
    if (growths != nullptr) ++*growths;
  }
}

std::error_code Store::apply(const Batch& batch, BatchResult* result) {
  BatchResult r;
  std::uint64_t seq = next_seq_;
  auto ec = write(
      [&](WriteTxn& txn) -> std::error_code {
        seq = next_seq_;
        r.first_seq = r.last_seq = 0;
        r.shed = 0;
        return apply_in(txn, batch, seq, r);
      },
      &r.map_growths);
  if (ec) return ec;
  next_seq_ = seq;
  if (result != nullptr) *result = r;
  return {};
}

std::error_code Store::apply_in(WriteTxn& txn, const Batch& batch, std::uint64_t& seq,
                                BatchResult& r) {
  std::error_code ec;
  for (const auto& d : batch.devices) {
    if ((ec = txn.put(devices_, d.mac.bytes(), encode(d, strings_)))) return ec;
  }
  for (const auto& mac : batch.removed_devices) {
    if ((ec = txn.del(devices_, mac.bytes()))) return ec;
  }
  auto unindex = [&](const platform::Guid& id) -> std::error_code {
    std::error_code gec;
    auto old = txn.get(intune_, id.bytes(), gec);
    if (gec || !old) return gec;
    IdentityRecord prev;
    prev.intune_id = id;
    if (decode(*old, strings_, prev)) return {};  // a corrupt old value has no usable MACs
    for (const auto& mac : {prev.wifi_mac, prev.ethernet_mac}) {
      if (mac.is_zero()) continue;
      if ((gec = txn.del(mac_index_, mac.bytes(), id.bytes()))) return gec;
    }
    return {};
  };
  for (const auto& i : batch.identities) {
    if ((ec = unindex(i.intune_id))) return ec;
    if ((ec = txn.put(intune_, i.intune_id.bytes(), encode(i, strings_)))) return ec;
    for (const auto& mac : {i.wifi_mac, i.ethernet_mac}) {
      if (mac.is_zero()) continue;
      if ((ec = txn.put(mac_index_, mac.bytes(), i.intune_id.bytes()))) return ec;
    }
  }
  for (const auto& id : batch.removed_identities) {
    if ((ec = unindex(id))) return ec;
    if ((ec = txn.del(intune_, id.bytes()))) return ec;
  }
  for (const auto& item : batch.outbox) {
    const auto key = be64(seq);
    if ((ec = txn.put(outbox_, key, encode(item), MDB_APPEND))) return ec;
    if (r.first_seq == 0) r.first_seq = seq;
    r.last_seq = seq++;
  }
  if (!batch.outbox.empty()) {
    if ((ec = txn.put(meta_, as_bytes(kMetaNextSeq), be64(seq)))) return ec;
    if ((ec = enforce_outbox_bound(txn, batch.outbox.size(), r.shed))) return ec;
  }
  for (const auto& [name, value] : batch.meta) {
    ec = value.empty() ? txn.del(meta_, as_bytes(name))
                       : txn.put(meta_, as_bytes(name), as_bytes(value));
    if (ec) return ec;
  }
  for (const auto& [name, value] : batch.cache) {
    ec = value.empty() ? txn.del(cache_, as_bytes(name))
                       : txn.put(cache_, as_bytes(name), as_bytes(value));
    if (ec) return ec;
  }
  return {};
}

std::error_code Store::enforce_outbox_bound(WriteTxn& txn, std::size_t appended,
                                            std::size_t& shed) {
  MDB_stat st{};
  if (int rc = ::mdb_stat(txn.handle(), outbox_, &st); rc != 0) return lmdb_error(rc);
  const std::size_t bound = options_.outbox_max_items;
  if (st.ms_entries <= bound) return {};
  // Shed down to 90 % of the bound so that a full outbox does not rescan on every batch.
  const std::size_t target = bound - bound / 10;
  std::size_t excess = st.ms_entries - target;

  std::error_code ec;
  std::unordered_map<std::string, std::uint64_t> newest;
  {
    Cursor c(txn.handle(), outbox_, ec);
    for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
      OutboxItem item;
      item.seq = read_be64(c.key());
      if (decode(c.value(), item)) continue;
      auto& n = newest[item.entity];
      n = std::max(n, item.seq);
    }
    if (ec) return ec;
  }
  std::uint64_t superseded = 0;
  std::uint64_t oldest = 0;
  // Choose first, delete after: deleting under a cursor makes its position ambiguous.
  std::vector<std::uint64_t> doomed;
  {
    std::vector<std::pair<std::uint64_t, bool>> candidates;  // seq, superseded
    Cursor c(txn.handle(), outbox_, ec);
    for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
      OutboxItem item;
      item.seq = read_be64(c.key());
      if (decode(c.value(), item) || item.priority != 0) continue;
      candidates.emplace_back(item.seq, newest[item.entity] > item.seq);
    }
    if (ec) return ec;
    for (const auto& [seq, is_superseded] : candidates) {
      if (doomed.size() == excess) break;
      if (is_superseded) {
        doomed.push_back(seq);
        ++superseded;
      }
    }
    for (const auto& [seq, is_superseded] : candidates) {
      if (doomed.size() == excess) break;
      if (!is_superseded) {
        doomed.push_back(seq);
        ++oldest;
      }
    }
  }
  for (auto seq : doomed) {
    if ((ec = txn.del(outbox_, be64(seq)))) return ec;
  }
  excess -= doomed.size();
  shed = static_cast<std::size_t>(superseded + oldest);
  if ((ec = add_u64(txn, meta_, kMetaShedSuperseded, superseded))) return ec;
  if ((ec = add_u64(txn, meta_, kMetaShedOldest, oldest))) return ec;
  // Only priority-1 items are left above the bound: keep them, and count how many arrived.
  if (excess > 0 && (ec = add_u64(txn, meta_, kMetaOverBound, appended))) return ec;
  return {};
}

namespace {
// Ends the reader's snapshot when a read operation returns, whatever the path.
struct ResetOnExit {
  ReadTxn& txn;
  ~ResetOnExit() { txn.reset(); }
};
}  // namespace

std::optional<DeviceRecord> Store::device(const platform::MacAddress& mac, std::error_code& ec) {
  if ((ec = read_begin())) return std::nullopt;
  ResetOnExit guard{reader_};
  auto v = reader_.get(devices_, mac.bytes(), ec);
  if (!v) return std::nullopt;
  DeviceRecord d;
  d.mac = mac;
  if ((ec = decode(*v, strings_, d))) return std::nullopt;
  return d;
}

std::optional<IdentityRecord> Store::identity(const platform::Guid& id, std::error_code& ec) {
  if ((ec = read_begin())) return std::nullopt;
  ResetOnExit guard{reader_};
  auto v = reader_.get(intune_, id.bytes(), ec);
  if (!v) return std::nullopt;
  IdentityRecord i;
  i.intune_id = id;
  if ((ec = decode(*v, strings_, i))) return std::nullopt;
  return i;
}

std::vector<platform::Guid> Store::identities_for_mac(const platform::MacAddress& mac,
                                                      std::error_code& ec) {
  std::vector<platform::Guid> out;
  if ((ec = read_begin())) return out;
  ResetOnExit guard{reader_};
  Cursor c(reader_.handle(), mac_index_, ec);
  for (bool ok = !ec && c.seek(mac.bytes(), ec); ok; ok = c.next_dup(ec)) {
    if (!std::equal(c.key().begin(), c.key().end(), mac.bytes().begin(), mac.bytes().end())) break;
    platform::Guid::Bytes b{};
    if (c.value().size() != b.size()) continue;
    std::memcpy(b.data(), c.value().data(), b.size());
    out.emplace_back(b);
  }
  return out;
}

std::error_code Store::for_each_device(const std::function<bool(const DeviceRecord&)>& fn,
                                       const CorruptFn& on_corrupt) {
  if (auto ec = read_begin()) return ec;
  ResetOnExit guard{reader_};
  std::error_code ec;
  Cursor c(reader_.handle(), devices_, ec);
  for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
    auto mac = platform::MacAddress::from_wire(c.key());
    DeviceRecord d;
    d.mac = mac.value_or(platform::MacAddress());
    auto dec = (!mac || c.key().size() != 6) ? std::error_code(errc::corrupt_value)
                                             : decode(c.value(), strings_, d);
    if (dec) {
      if (on_corrupt) on_corrupt(c.key(), dec);
      continue;
    }
    if (!fn(d)) break;
  }
  return ec;
}

std::error_code Store::for_each_identity(const std::function<bool(const IdentityRecord&)>& fn,
                                         const CorruptFn& on_corrupt) {
  if (auto ec = read_begin()) return ec;
  ResetOnExit guard{reader_};
  std::error_code ec;
  Cursor c(reader_.handle(), intune_, ec);
  for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
    IdentityRecord i;
    std::error_code dec;
    if (c.key().size() != 16) {
      dec = errc::corrupt_value;
    } else {
      platform::Guid::Bytes b{};
      std::memcpy(b.data(), c.key().data(), b.size());
      i.intune_id = platform::Guid(b);
      dec = decode(c.value(), strings_, i);
    }
    if (dec) {
      if (on_corrupt) on_corrupt(c.key(), dec);
      continue;
    }
    if (!fn(i)) break;
  }
  return ec;
}

std::error_code Store::outbox_peek(std::size_t max, std::vector<OutboxItem>& out,
                                   const CorruptFn& on_corrupt, std::uint64_t after) {
  out.clear();
  if (auto ec = read_begin()) return ec;
  ResetOnExit guard{reader_};
  std::error_code ec;
  Cursor c(reader_.handle(), outbox_, ec);
  const auto from = be64(after + 1);
  bool ok = !ec && (after == 0 ? c.first(ec) : c.seek(from, ec));
  for (; ok && out.size() < max; ok = c.next(ec)) {
    if (c.key().size() != 8) continue;
    OutboxItem item;
    item.seq = read_be64(c.key());
    if (auto dec = decode(c.value(), item)) {
      if (on_corrupt) on_corrupt(c.key(), dec);
      item = OutboxItem();
      item.seq = read_be64(c.key());
    }
    out.push_back(std::move(item));
  }
  return ec;
}

std::error_code Store::outbox_ack(std::span<const std::uint64_t> seqs) {
  return write([&](WriteTxn& txn) -> std::error_code {
    for (auto s : seqs) {
      if (auto ec = txn.del(outbox_, be64(s))) return ec;
    }
    return {};
  });
}

std::error_code Store::outbox_park(std::span<const std::uint64_t> seqs, std::string_view reason) {
  if (deadletter_ == kNoDatabase) return make_error_code(errc::not_open);
  return write([&](WriteTxn& txn) -> std::error_code {
    std::error_code ec;
    std::uint64_t parked = 0;
    for (auto s : seqs) {
      const auto key = be64(s);
      auto v = txn.get(outbox_, key, ec);
      if (ec) return ec;
      if (!v) continue;  // already gone (acknowledged or shed)
      const std::string value(reinterpret_cast<const char*>(v->data()), v->size());
      if ((ec = txn.put(deadletter_, key, as_bytes(value)))) return ec;
      if ((ec = txn.del(outbox_, key))) return ec;
      ++parked;
    }
    if ((ec = add_u64(txn, meta_, kMetaDeadParked, parked))) return ec;
    if ((ec = txn.put(meta_, as_bytes(kMetaDeadReason),
                      as_bytes(reason.substr(0, std::min<std::size_t>(reason.size(), 512)))))) {
      return ec;
    }
    // The bound: the oldest dead letters go, counted.
    MDB_stat st{};
    if (int rc = ::mdb_stat(txn.handle(), deadletter_, &st); rc != 0) return lmdb_error(rc);
    if (st.ms_entries <= options_.outbox_max_items) return {};
    std::size_t excess = st.ms_entries - options_.outbox_max_items;
    std::vector<std::uint64_t> doomed;
    {
      Cursor c(txn.handle(), deadletter_, ec);
      for (bool ok = !ec && c.first(ec); ok && doomed.size() < excess; ok = c.next(ec)) {
        if (c.key().size() == 8) doomed.push_back(read_be64(c.key()));
      }
      if (ec) return ec;
    }
    for (auto seq : doomed) {
      if ((ec = txn.del(deadletter_, be64(seq)))) return ec;
    }
    return add_u64(txn, meta_, kMetaDeadDropped, doomed.size());
  });
}

std::error_code Store::deadletter_requeue(std::size_t& moved) {
  if (deadletter_ == kNoDatabase) return make_error_code(errc::not_open);
  std::size_t count = 0;
  auto ec = write([&](WriteTxn& txn) -> std::error_code {
    count = 0;
    std::error_code cec;
    std::vector<std::pair<std::uint64_t, std::string>> items;
    {
      Cursor c(txn.handle(), deadletter_, cec);
      for (bool ok = !cec && c.first(cec); ok; ok = c.next(cec)) {
        if (c.key().size() != 8) continue;
        items.emplace_back(
            read_be64(c.key()),
            std::string(reinterpret_cast<const char*>(c.value().data()), c.value().size()));
      }
      if (cec) return cec;
    }
    for (const auto& [seq, value] : items) {
      if ((cec = txn.put(outbox_, be64(seq), as_bytes(value)))) return cec;
      if ((cec = txn.del(deadletter_, be64(seq)))) return cec;
    }
    count = items.size();
    return {};
  });
  if (!ec) moved = count;
  return ec;
}

std::error_code Store::deadletter_peek(std::size_t max, std::vector<OutboxItem>& out) {
  out.clear();
  if (deadletter_ == kNoDatabase) return {};
  if (auto ec = read_begin()) return ec;
  ResetOnExit guard{reader_};
  std::error_code ec;
  Cursor c(reader_.handle(), deadletter_, ec);
  for (bool ok = !ec && c.first(ec); ok && out.size() < max; ok = c.next(ec)) {
    if (c.key().size() != 8) continue;
    OutboxItem item;
    if (decode(c.value(), item)) item = OutboxItem();
    item.seq = read_be64(c.key());
    out.push_back(std::move(item));
  }
  return ec;
}

std::optional<std::string> Store::meta(std::string_view name, std::error_code& ec) {
  if ((ec = read_begin())) return std::nullopt;
  ResetOnExit guard{reader_};
  auto v = reader_.get(meta_, as_bytes(name), ec);
  if (!v) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

std::optional<std::string> Store::cache(std::string_view name, std::error_code& ec) {
  if ((ec = read_begin())) return std::nullopt;
  ResetOnExit guard{reader_};
  auto v = reader_.get(cache_, as_bytes(name), ec);
  if (!v) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

std::error_code Store::remove_devices_not_seen_since(platform::Timestamp cutoff,
                                                     std::size_t& removed) {
  std::size_t count = 0;
  auto ec = write([&](WriteTxn& txn) -> std::error_code {
    count = 0;
    std::error_code cec;
    std::vector<platform::MacAddress> doomed;
    {
      Cursor c(txn.handle(), devices_, cec);
      for (bool ok = !cec && c.first(cec); ok; ok = c.next(cec)) {
        DeviceRecord d;
        if (!decode(c.value(), strings_, d) && d.last_seen < cutoff && c.key().size() == 6) {
          doomed.push_back(*platform::MacAddress::from_wire(c.key()));
        }
      }
      if (cec) return cec;
    }
    for (const auto& mac : doomed) {
      if ((cec = txn.del(devices_, mac.bytes()))) return cec;
    }
    count = doomed.size();
    return {};
  });
  if (!ec) removed = count;
  return ec;
}

std::error_code Store::stats(StoreStats& out) {
  out = StoreStats();
  if (auto ec = read_begin()) return ec;
  ResetOnExit guard{reader_};
  auto entries = [&](unsigned dbi) -> std::uint64_t {
    MDB_stat st{};
    return ::mdb_stat(reader_.handle(), dbi, &st) == 0 ? st.ms_entries : 0;
  };
  auto table_bytes = [&](unsigned dbi) -> std::uint64_t {
    MDB_stat st{};
    if (::mdb_stat(reader_.handle(), dbi, &st) != 0) return 0;
    return (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
           static_cast<std::uint64_t>(st.ms_psize);
  };
  out.devices_bytes = table_bytes(devices_);
  out.identities_bytes = table_bytes(intune_) + table_bytes(mac_index_);
  out.devices = entries(devices_);
  out.identities = entries(intune_);
  out.outbox_items = entries(outbox_);
  std::error_code ec;
  auto counter = [&](const char* name) -> std::uint64_t {
    auto v = reader_.get(meta_, as_bytes(name), ec);
    return (v && v->size() == 8) ? read_be64(*v) : 0;
  };
  out.outbox_shed_superseded = counter(kMetaShedSuperseded);
  out.outbox_shed_oldest = counter(kMetaShedOldest);
  out.outbox_over_bound = counter(kMetaOverBound);
  out.deadletter_parked = counter(kMetaDeadParked);
  out.deadletter_dropped = counter(kMetaDeadDropped);
  if (deadletter_ != kNoDatabase) out.deadletter_items = entries(deadletter_);
  if (auto v = reader_.get(meta_, as_bytes(kMetaDeadReason), ec)) {
    out.deadletter_reason.assign(reinterpret_cast<const char*>(v->data()), v->size());
  }
  out.schema_version = static_cast<std::uint32_t>(counter(kMetaSchema));
  {
    Cursor c(reader_.handle(), outbox_, ec);
    if (!ec && c.first(ec)) {
      OutboxItem item;
      if (!decode(c.value(), item)) out.outbox_oldest = item.created;
    }
  }
  MDB_envinfo info{};
  MDB_stat envst{};
  ::mdb_env_info(env_.handle(), &info);
  ::mdb_env_stat(env_.handle(), &envst);
  out.map_size = info.me_mapsize;
  out.used_bytes = static_cast<std::uint64_t>(info.me_last_pgno + 1) * envst.ms_psize;
  // fstat of the open descriptor: a path may no longer be reachable (privileges dropped).
  mdb_filehandle_t fd = -1;
  struct stat st {};
  if (::mdb_env_get_fd(env_.handle(), &fd) == 0 && ::fstat(fd, &st) == 0) {
    out.file_bytes = static_cast<std::uint64_t>(st.st_size);
  }
  out.stale_readers_cleared = stale_readers_;
  return ec;
}

namespace {

// Copies every named table of @p from into a fresh environment in @p to, in key order with
// MDB_APPEND(DUP): LMDB then fills each page completely, which a page-level copy
// (mdb_env_copy2 with MDB_CP_COMPACT) does not do for trees built by random inserts.
std::error_code rebuild(const std::filesystem::path& from, const std::filesystem::path& to) {
  Environment src;
  EnvironmentOptions so;
  so.directory = from;
  so.read_only = true;
  so.initial_map_size = 0;
  if (auto ec = src.open(so)) return ec;
  Environment dst;
  EnvironmentOptions dopt;
  dopt.directory = to;
  dopt.initial_map_size = src.map_size();
  dopt.max_map_size = src.map_size();
  dopt.no_sync = true;  // synced once, explicitly, before the rename
  if (auto ec = dst.open(dopt)) return ec;

  ReadTxn rtxn;
  if (auto ec = rtxn.begin(src)) return ec;
  // The main table's keys are the names of the named tables.
  std::vector<std::string> names;
  std::error_code ec;
  {
    MDB_dbi main_dbi = 0;
    if (int rc = ::mdb_dbi_open(rtxn.handle(), nullptr, 0, &main_dbi); rc != 0) {
      return lmdb_error(rc);
    }
    Cursor c(rtxn.handle(), main_dbi, ec);
    for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
      names.emplace_back(reinterpret_cast<const char*>(c.key().data()), c.key().size());
    }
  }
  if (ec) return ec;
  WriteTxn wtxn;
  if ((ec = wtxn.begin(dst))) return ec;
  for (const auto& name : names) {
    MDB_dbi sdbi = 0;
    if (int rc = ::mdb_dbi_open(rtxn.handle(), name.c_str(), 0, &sdbi); rc != 0) {
      return lmdb_error(rc);
    }
    unsigned flags = 0;
    ::mdb_dbi_flags(rtxn.handle(), sdbi, &flags);
    MDB_dbi ddbi = 0;
    if (int rc = ::mdb_dbi_open(wtxn.handle(), name.c_str(), flags | MDB_CREATE, &ddbi); rc != 0) {
      return lmdb_error(rc);
    }
    const unsigned append = (flags & MDB_DUPSORT) ? MDB_APPENDDUP : MDB_APPEND;
    Cursor c(rtxn.handle(), sdbi, ec);
    for (bool ok = !ec && c.first(ec); ok; ok = c.next(ec)) {
      if ((ec = wtxn.put(ddbi, c.key(), c.value(), append))) return ec;
    }
    if (ec) return ec;
  }
  if ((ec = wtxn.commit())) return ec;
  return dst.sync(true);
}

}  // namespace

std::error_code Store::compact(const std::filesystem::path& directory) {
  DirLock lock;
  if (auto ec = lock.acquire(directory)) return ec;
  const auto work = directory / ".compact";
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  std::filesystem::create_directory(work, ec);
  if (ec) return ec;
  if ((ec = rebuild(directory, work))) {
    std::filesystem::remove_all(work);
    return ec;
  }
  // Make the copy durable before it replaces the original, and the rename after.
  const auto copy = work / "data.mdb";
  int fd = ::open(copy.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    ec = std::error_code(errno, std::system_category());
    if (fd >= 0) ::close(fd);
    std::filesystem::remove_all(work);
    return ec;
  }
  ::close(fd);
  std::filesystem::rename(copy, directory / "data.mdb", ec);
  if (ec) return ec;
  std::filesystem::remove_all(work, ec);
  fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return {};
}

}  // namespace edgeid::store
