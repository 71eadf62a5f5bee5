#include "platform/error.h"

namespace edgeid::platform {

std::string TableCategory::message(int value) const {
  if (value >= 0 && value < count_) return messages_[value];
  return std::string(name_) + " error " + std::to_string(value);
}

const std::error_category& platform_category() noexcept {
  static constexpr const char* kMessages[] = {"success", "invalid argument", "permission denied",
                                              "not found"};
  static const TableCategory category("edgeid.platform", kMessages,
                                      static_cast<int>(std::size(kMessages)));
  return category;
}

}  // namespace edgeid::platform
