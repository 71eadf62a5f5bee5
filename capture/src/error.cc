#include "capture/error.h"

#include "platform/error.h"

namespace edgeid::capture {

const std::error_category& capture_category() noexcept {
  static constexpr const char* kMessages[] = {
      "success",
      "cannot open capture",
      "unsupported link type",
      "invalid capture filter",
      "capture read failed",
      "end of capture file",
  };
  static const platform::TableCategory category("edgeid.capture", kMessages,
                                                static_cast<int>(std::size(kMessages)));
  return category;
}

}  // namespace edgeid::capture
