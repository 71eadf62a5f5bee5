#include "capture/oui_table.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <limits>

namespace edgeid::capture {

namespace {

// The first three fields of one CSV record and how many fields it has. A field is a view into
// the file's text, or into `scratch` when quoting made it differ from its raw bytes.
struct Record {
  std::array<std::string_view, 3> fields;
  std::size_t count = 0;
  std::array<std::string, 3> scratch;
};

// Splits one CSV record (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks)
// from @p text starting at @p pos. Returns false at the end of the input. Allocation-free for
// unquoted fields (all but a few hundred rows of the registries).
bool next_record(std::string_view text, std::size_t& pos, Record& r) {
  r.count = 0;
  if (pos >= text.size()) return false;
  bool end_of_record = false;
  while (!end_of_record) {
    const std::size_t k = r.count;
    std::string* out = k < 3 ? &r.scratch[k] : nullptr;
    const std::size_t start = pos;
    std::size_t end = pos;
    bool quoted = false;
    bool copied = false;  // the field is in *out, not text[start, end)
    const auto to_copy = [&] {
      if (copied || out == nullptr) return;
      out->assign(text.substr(start, pos - 1 - start));
      copied = true;
    };
    const auto add = [&](char ch) {
      if (copied) out->push_back(ch);
    };
    bool done = false;
    while (!done && pos < text.size()) {
      const char ch = text[pos++];
      if (quoted) {
        if (ch == '"') {
          if (pos < text.size() && text[pos] == '"') {
            add('"');
            ++pos;
          } else {
            quoted = false;
          }
        } else {
          add(ch);
        }
        continue;
      }
      if (ch == '"') {
        to_copy();
        quoted = true;
      } else if (ch == ',') {
        end = pos - 1;
        done = true;
      } else if (ch == '\r' || ch == '\n') {
        end = pos - 1;
        if (ch == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
        done = true;
        end_of_record = true;
      } else {
        add(ch);
      }
    }
    if (!done) {  // end of input
      end = pos;
      end_of_record = true;
    }
    if (k < 3) {
      r.fields[k] = copied ? std::string_view(*out) : text.substr(start, end - start);
    }
    ++r.count;
  }
  return true;
}

bool parse_hex(std::string_view text, std::uint64_t& value) noexcept {
  value = 0;
  for (const char ch : text) {
    int digit = 0;
    if (ch >= '0' && ch <= '9') {
      digit = ch - '0';
    } else if (ch >= 'A' && ch <= 'F') {
      digit = ch - 'A' + 10;
    } else if (ch >= 'a' && ch <= 'f') {
      digit = ch - 'a' + 10;
    } else {
      return false;
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return !text.empty();
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::error_code OuiTable::load_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return ec ? ec : std::make_error_code(std::errc::no_such_file_or_directory);
  }
  // One read into one buffer (the registries are a few MB), then a parser that keeps views.
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::make_error_code(std::errc::permission_denied);
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) return ec;
  // A registry is a few MB; anything that does not fit size_t is not one.
  if (file_size > std::numeric_limits<std::size_t>::max() / 2) {
    return std::make_error_code(std::errc::file_too_large);
  }
  const auto size = static_cast<std::size_t>(file_size);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::size_t>(in.gcount()) != size) {
    return std::make_error_code(std::errc::io_error);
  }
  std::size_t pos = 0;
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // UTF-8 BOM
  Record record;
  bool header = true;
  while (next_record(text, pos, record)) {
    const auto& fields = record.fields;
    if (header) {  // "Registry,Assignment,Organization Name,Organization Address"
      header = false;
      if (fields[0] == "Registry") continue;
    }
    if (record.count == 1 && fields[0].empty()) continue;  // blank line
    std::uint64_t prefix = 0;
    const std::string_view assignment = record.count >= 3 ? trim(fields[1]) : std::string_view();
    const std::string_view name = record.count >= 3 ? trim(fields[2]) : std::string_view();
    const int bits = static_cast<int>(assignment.size()) * 4;
    if ((bits != 24 && bits != 28 && bits != 36) || !parse_hex(assignment, prefix) ||
        name.empty()) {
      ++rows_skipped_;
      continue;
    }
    add(bits, prefix, name);
  }
  finish();
  return {};
}

void OuiTable::load_directory(const std::filesystem::path& directory,
                              std::vector<std::string>& problems) {
  for (const auto file : kRegistryFiles) {
    const auto path = directory / file;
    if (const auto ec = load_file(path)) problems.push_back(path.string() + ": " + ec.message());
  }
}

void OuiTable::add(int bits, std::uint64_t prefix, std::string_view name) {
  const int level = bits == 36 ? 0 : bits == 28 ? 1 : 2;
  // Names repeat (one vendor owns many blocks): reuse the previous copy when it is the same.
  auto& table = tables_[level];
  std::uint32_t offset = 0;
  if (!table.empty() &&
      std::string_view(names_).substr(table.back().name_offset, table.back().name_length) == name) {
    offset = table.back().name_offset;
  } else {
    offset = static_cast<std::uint32_t>(names_.size());
    names_.append(name);
  }
  table.push_back(Entry{prefix, offset, static_cast<std::uint32_t>(name.size())});
  sorted_ = false;
}

void OuiTable::finish() {
  if (sorted_) return;
  for (auto& table : tables_) {
    // Stable, so that for a duplicated assignment the first row of the file wins. A table an
    // earlier file left sorted is not sorted again.
    if (!std::is_sorted(table.begin(), table.end())) std::stable_sort(table.begin(), table.end());
    table.erase(std::unique(table.begin(), table.end(),
                            [](const Entry& a, const Entry& b) { return a.prefix == b.prefix; }),
                table.end());
    table.shrink_to_fit();
  }
  sorted_ = true;
}

const OuiTable::Entry* OuiTable::find(int level, std::uint64_t prefix) const noexcept {
  const auto& table = tables_[level];
  const auto it = std::lower_bound(table.begin(), table.end(), Entry{prefix, 0, 0});
  return it != table.end() && it->prefix == prefix ? &*it : nullptr;
}

std::string_view OuiTable::vendor(const platform::MacAddress& mac) const noexcept {
  const std::uint64_t value = mac.to_u64();
  for (int level = 0; level < 3; ++level) {
    if (const Entry* e = find(level, value >> (48 - kBits[level]))) {
      return std::string_view(names_).substr(e->name_offset, e->name_length);
    }
  }
  return {};
}

bool OuiTable::is_registered_ma_l(const platform::MacAddress& mac) const noexcept {
  return find(2, mac.to_u64() >> 24) != nullptr;
}

std::size_t OuiTable::size() const noexcept {
  return tables_[0].size() + tables_[1].size() + tables_[2].size();
}

}  // namespace edgeid::capture
