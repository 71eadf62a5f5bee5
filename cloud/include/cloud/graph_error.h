#pragma once
/// @file
/// Errors of cloud/'s identity side (OAuth2, Graph client, identity sources), and the parsed
/// shapes of Graph and token-endpoint error bodies.
///
/// Policy: I/O entry points report a std::error_code of graph_category() (or a transport code
/// of cloud/error.h) plus, where the service said why, a human-readable detail string built
/// from the error body (code and message for Graph, AADSTS code and description for the token
/// endpoint). Details never contain a secret or a token.
/// Thread safety: the category is an immutable function-local static.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace edgeid::cloud {

enum class graph_errc {
  ok = 0,
  invalid_json,          ///< a response body is not (complete) JSON
  unexpected_shape,      ///< valid JSON, but not the shape Graph documents
  error_body,            ///< the body is a Graph error object
  http_error,            ///< Graph answered with a non-retryable error status
  retries_exhausted,     ///< throttling / 5xx / transport errors outlasted the retry budget
  token_error,           ///< the token endpoint refused (AADSTS code in the detail)
  unauthorized,          ///< Graph answered 401 even with a fresh token
  foreign_link,          ///< a nextLink/deltaLink points to another origin: refused
  resync_required,       ///< the delta token is no longer valid (410, syncStateNotFound, …)
  paging_loop,           ///< a nextLink repeated the current URL
  insecure_secret_file,  ///< secret/key file readable by group/others or owned by someone else
  unreadable_file,       ///< a credential or source file cannot be read
  bad_credentials,       ///< certificate or private key unusable for a client assertion
  bad_source_file,       ///< an offline identity source is malformed
  cancelled,             ///< the client was stopped
  token_unavailable,     ///< the token endpoint answered 429 or 5xx (transient: retried)
};

const std::error_category& graph_category() noexcept;
inline std::error_code make_error_code(graph_errc e) noexcept {
  return {static_cast<int>(e), graph_category()};
}

/// A Graph error body {"error":{"code","message","innerError":{…}}}.
struct GraphErrorBody {
  std::string code;        ///< error.code
  std::string message;     ///< error.message; a JSON string inside it is unwrapped to its "Message"
  std::string inner_code;  ///< innerError.code / innererror.code when present
  std::string request_id;  ///< innerError "request-id" or "requestId"
  std::string date;        ///< innerError.date
  /// "code: message (request-id …)" for logs and error details.
  std::string summary() const;
};
/// Parses a Graph error body (DOM parse: error bodies are small). nullopt if it is not one.
std::optional<GraphErrorBody> parse_graph_error(std::string_view body);

/// A token-endpoint error body {"error","error_description","error_codes",…}.
struct TokenErrorBody {
  std::string error;        ///< e.g. invalid_scope
  std::string description;  ///< AADSTS… text (first line only: trace ids follow on later lines)
  std::vector<long long> codes;
  std::string summary() const;
};
std::optional<TokenErrorBody> parse_token_error(std::string_view body);

/// A successful token response.
struct TokenResponseBody {
  std::string token_type;
  std::string access_token;
  std::chrono::seconds expires_in{0};
};
std::optional<TokenResponseBody> parse_token_response(std::string_view body);

/// Parses a Retry-After value: delay-seconds (fractional allowed, e.g. "2.128") or an
/// HTTP-date (IMF-fixdate), relative to @p now_unix_seconds. nullopt when unparseable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           double now_unix_seconds);

}  // namespace edgeid::cloud

template <>
struct std::is_error_code_enum<edgeid::cloud::graph_errc> : std::true_type {};
