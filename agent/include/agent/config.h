#pragma once
/// @file
/// The agent's configuration (DESIGN.md §7): one JSON file parsed once, with Boost.JSON, into an
/// immutable Config of per-module options.
///
/// Every section is described by ONE table (config.cc) of {keyword, type, default, required,
/// limits/choices}; unknown keys are rejected and every error names the JSON path and what was
/// expected, e.g. `identity.graph.tenant_id: expected a string`. Comments (// and /* */) are
/// allowed. Secrets are never in the file, only the paths of files holding them
/// (`client_secret_file`, `certificate_key_file`, `token_file`); those files must be regular,
/// owned by the service user (the current effective user) or root, and neither group- nor
/// world-accessible. Relative paths are resolved against the config file's directory.
///
/// Thread safety: a Config is a plain value, immutable after load. Errors: ConfigError (exit 2).

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace edgeid::agent {

/// A configuration problem; what() is one line naming the JSON path (or the file).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Defaults are in the section tables of config.cc (the one place they are written), applied by
/// parse_config(); a value-initialised struct is not a valid configuration.
struct CaptureConfig {
  /// Live interfaces. Empty with all_interfaces: every up, non-loopback interface (resolved when
  /// capture starts, see up_interfaces()).
  std::vector<std::string> interfaces;
  bool all_interfaces = false;
  std::vector<std::string> pcap_files;  ///< offline captures, read to their end
  std::string bpf;
  std::int64_t snaplen = 0;
  /// Kernel ring per live interface (pcap_set_buffer_size): what absorbs a burst while the
  /// capture thread is not running.
  std::int64_t buffer_mib = 0;
  std::int64_t max_devices = 0;
  std::string oui_dir;
};

struct StoreConfig {
  std::string data_dir;  ///< default: /var/lib/edgeid as root, else ./edgeid-data
  std::int64_t flush_interval_s = 0;
  std::int64_t max_map_mib = 0;
  /// synced: every flush is on disk when it returns (LMDB's default). periodic: flushes are
  /// not fsynced (MDB_NOSYNC); the agent syncs every sync_interval_s, so a power loss (not a
  /// crash of the agent) can lose at most that many seconds of changes. See docs/STORE.md.
  std::string durability;
  std::int64_t sync_interval_s = 0;
  /// A device whose only change is activity (last_seen, packets, bytes) is written at most
  /// this often; any other change is written at the next flush.
  std::int64_t activity_interval_s = 0;
  std::int64_t retention_days = 0;  ///< devices not seen for this long are removed; 0: never
  /// The outbox bound (and the dead-letter table's): see docs/UPSTREAM.md for what is shed.
  std::int64_t outbox_max_items = 0;
};

struct GraphConfig {
  std::string cloud;          ///< global | usgov | dod | china | custom
  std::string authority_url;  ///< from `cloud` unless given (required for custom)
  std::string graph_url;
  std::string tenant_id;
  std::string client_id;
  std::string client_secret_file;
  std::string certificate_file;
  std::string certificate_key_file;
  std::string ca_file;
  std::string proxy;
  std::int64_t intune_interval_s = 0;
  std::int64_t entra_interval_s = 0;
};

struct IdentityFileConfig {
  std::string path;
};

struct IdentityConfig {
  std::string source;  ///< graph | file | none
  GraphConfig graph;
  IdentityFileConfig file;
};

struct UpstreamConfig {
  std::string sink;  ///< collector | clickhouse | none
  std::string url;
  std::string token_file;            ///< collector: bearer token (secret file)
  std::string ca_file;               ///< "" = the system bundle
  std::string certificate_file;      ///< mutual TLS client certificate (PEM)
  std::string certificate_key_file;  ///< its key (secret file)
  std::string user;                  ///< clickhouse
  std::string password_file;         ///< clickhouse (secret file)
  std::string database;              ///< clickhouse
  std::string table;                 ///< clickhouse: the records
  std::string events_table;          ///< clickhouse: the events
  std::int64_t max_batch_records = 500;
  std::int64_t max_batch_bytes = 1 << 20;
  std::int64_t timeout_s = 30;
  std::int64_t backoff_max_s = 300;
};

struct ControlConfig {
  std::string socket;
  std::string group;
  std::string admin_group;
};

struct Config {
  std::string sensor_id;  ///< default: the host name
  CaptureConfig capture;
  StoreConfig store;
  IdentityConfig identity;
  UpstreamConfig upstream;
  ControlConfig control;
  std::string user;
  std::filesystem::path file;  ///< where it was read from ("" for the embedded default)
};

/// Parses @p text (the content of @p file, used for messages and relative paths).
/// Throws ConfigError. Secret files are checked (see the file comment).
Config parse_config(std::string_view text, const std::filesystem::path& file);
/// Reads and parses @p file. Throws ConfigError (also when the file is unreadable).
Config load_config(const std::filesystem::path& file);
/// The embedded default used when no config file is given: capture on every up, non-loopback
/// interface, data in /var/lib/edgeid (./edgeid-data when not root), no identity source.
Config default_config();

/// Checks a secret file: regular, owned by the effective user or root, mode without group/other
/// bits. Throws ConfigError naming @p json_path, the file and the reason.
void check_secret_file(const std::string& path, std::string_view json_path);

/// Names of the up, non-loopback interfaces of this host (getifaddrs), sorted.
std::vector<std::string> up_interfaces();

/// The configuration as JSON (for `config check` and config-get), secrets' paths kept (they are
/// not secret), nothing else hidden: the file holds no secret values.
std::string config_to_json(const Config& config);

}  // namespace edgeid::agent
