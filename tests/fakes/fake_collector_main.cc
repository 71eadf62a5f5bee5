// edgeid-fake-collector: a fake upstream collector (POST /v1/ingest, NDJSON batches) as a
// process, for integration tests of the agent's upstream push. Writes the CA certificate to
// CA_FILE (an empty file with --plain, which serves plain HTTP), prints
// "url https://localhost:PORT/v1/ingest", then obeys one command per line on stdin, answering
// one line "ok ..." (or "error ...") on stdout:
//   require_token TOKEN               demand "Authorization: Bearer TOKEN" (no TOKEN: demand none)
//   fault status_500 TIMES            the next TIMES well-formed POSTs get 500
//   fault throttle_429 TIMES SECONDS  ... get 429 with "Retry-After: SECONDS"
//   fault slow TIMES                  ... are never answered (the client must time out)
//   fault reset_mid_body TIMES        ... get half a 200 answer, then a close (not stored)
//   fault bad_request_400 TIMES       ... get 400 {"error":"rejected by fault"}
//   fault reject_containing TEXT      every POST whose body contains TEXT gets 400 until
//   clear_reject                      clear_reject (a persistent dead letter)
//   stats                             "ok requests=N accepted=N lines=N dup_batches=N faulted=N"
//   dump FILE                         stored lines to FILE in arrival order; "ok N"
//   keys                              "ok K1 K2 ..." the accepted Idempotency-Keys in order
//   quit                              (or end of input)
// Counted faults queue in the order given and are consumed one per well-formed POST; the
// reject_containing check comes first and consumes none of them.
#include <cctype>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/fake_http_server.h"
#include "fakes/test_pki.h"

namespace {

using edgeid::fakes::FakeRequest;
using edgeid::fakes::FakeResponse;
using edgeid::fakes::ResponseFault;

struct ScriptedFault {
  std::string kind;
  int times = 1;
  std::string retry_after;
};

// Shared between the server threads (handler) and the command loop.
struct Collector {
  std::mutex mutex;
  std::string token;
  std::deque<ScriptedFault> faults;
  std::string reject_text;
  std::vector<std::string> lines;
  std::vector<std::string> keys;
  std::set<std::string> seen_keys;
  int requests = 0, accepted = 0, dup_batches = 0, faulted = 0;
};

FakeResponse text_response(int status, const std::string& reason, const std::string& body) {
  FakeResponse r;
  r.status = status;
  r.reason = reason;
  r.body = body;
  r.headers.emplace_back(
      "Content-Type", status == 200 || body.starts_with("{") ? "application/json" : "text/plain");
  return r;
}

// Media type without parameters, lower-cased: "application/x-ndjson; charset=utf-8" is fine.
std::string media_type(const std::string& value) {
  std::string out;
  for (const char c : value.substr(0, value.find(';'))) {
    if (c == ' ' || c == '\t') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Splits NDJSON into its non-empty lines; false if one is not a {...} object.
bool split_ndjson(const std::string& body, std::vector<std::string>& out) {
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line.front() != '{' || line.back() != '}') return false;
    out.push_back(line);
  }
  return true;
}

FakeResponse handle(Collector& c, const FakeRequest& req) {
  std::lock_guard lock(c.mutex);
  ++c.requests;
  if (req.method != "POST" || req.target.substr(0, req.target.find('?')) != "/v1/ingest") {
    return text_response(404, "Not Found", "not found\n");
  }
  if (media_type(req.header("Content-Type").value_or("")) != "application/x-ndjson") {
    return text_response(415, "Unsupported Media Type", "want application/x-ndjson\n");
  }
  if (!c.token.empty() && req.header("Authorization") != "Bearer " + c.token) {
    return text_response(401, "Unauthorized", "bad token\n");
  }
  const std::string key = req.header("Idempotency-Key").value_or("");
  if (key.empty()) return text_response(400, "Bad Request", "missing Idempotency-Key\n");
  std::vector<std::string> lines;
  if (!split_ndjson(req.body, lines)) return text_response(400, "Bad Request", "bad ndjson\n");

  const std::string accepted_body = "{\"accepted\":" + std::to_string(lines.size()) + "}";
  if (!c.reject_text.empty() && req.body.find(c.reject_text) != std::string::npos) {
    ++c.faulted;
    return text_response(400, "Bad Request", "{\"error\":\"rejected by fault\"}");
  }
  if (!c.faults.empty()) {
    const ScriptedFault fault = c.faults.front();
    if (--c.faults.front().times <= 0) c.faults.pop_front();
    ++c.faulted;
    if (fault.kind == "status_500") return text_response(500, "Internal Server Error", "boom\n");
    if (fault.kind == "bad_request_400") {
      return text_response(400, "Bad Request", "{\"error\":\"rejected by fault\"}");
    }
    if (fault.kind == "throttle_429") {
      FakeResponse r = text_response(429, "Too Many Requests", "slow down\n");
      r.headers.emplace_back("Retry-After", fault.retry_after);
      return r;
    }
    // slow / reset_mid_body: the client never gets a full answer, so nothing is stored.
    FakeResponse r = text_response(200, "OK", accepted_body);
    r.fault =
        fault.kind == "slow" ? ResponseFault::stall_before_response : ResponseFault::close_mid_body;
    return r;
  }
  ++c.accepted;
  if (!c.seen_keys.insert(key).second) {
    ++c.dup_batches;  // a retry of an acknowledged batch: acknowledge again, store nothing
  } else {
    c.keys.push_back(key);
    c.lines.insert(c.lines.end(), lines.begin(), lines.end());
  }
  return text_response(200, "OK", accepted_body);
}

// One stdin command; returns the answer line.
std::string run_command(Collector& c, const std::string& line) {
  std::istringstream in(line);
  std::string command, arg;
  in >> command;
  std::lock_guard lock(c.mutex);
  if (command == "require_token") {
    in >> arg;
    c.token = arg;
  } else if (command == "fault") {
    ScriptedFault fault;
    in >> fault.kind;
    if (fault.kind == "reject_containing") {
      std::getline(in >> std::ws, c.reject_text);
      if (c.reject_text.empty()) return "error missing TEXT";
      return "ok";
    }
    if (fault.kind != "status_500" && fault.kind != "throttle_429" && fault.kind != "slow" &&
        fault.kind != "reset_mid_body" && fault.kind != "bad_request_400") {
      return "error unknown fault " + fault.kind;
    }
    if (!(in >> fault.times) || fault.times < 1) return "error bad TIMES";
    if (fault.kind == "throttle_429" && !(in >> fault.retry_after)) return "error missing SECONDS";
    c.faults.push_back(fault);
  } else if (command == "clear_reject") {
    c.reject_text.clear();
  } else if (command == "stats") {
    return "ok requests=" + std::to_string(c.requests) + " accepted=" + std::to_string(c.accepted) +
           " lines=" + std::to_string(c.lines.size()) +
           " dup_batches=" + std::to_string(c.dup_batches) +
           " faulted=" + std::to_string(c.faulted);
  } else if (command == "dump") {
    in >> arg;
    std::ofstream out(arg);
    for (const auto& l : c.lines) out << l << '\n';
    out.close();
    if (arg.empty() || !out) return "error cannot write " + arg;
    return "ok " + std::to_string(c.lines.size());
  } else if (command == "keys") {
    std::string answer = "ok";
    for (const auto& k : c.keys) answer += " " + k;
    return answer;
  } else {
    return "error unknown command " + command;
  }
  return "ok";
}

}  // namespace

int main(int argc, char** argv) {
  const bool plain = argc == 3 && std::string(argv[2]) == "--plain";
  if (argc != 2 && !plain) {
    std::cerr << "usage: edgeid-fake-collector CA_FILE [--plain]\n";
    return 2;
  }
  Collector collector;  // outlives the server, whose destructor joins the handler threads
  edgeid::fakes::FakeServerOptions options;
  options.tls = !plain;
  std::string ca_pem;
  if (!plain) {
    edgeid::fakes::TestCa ca;
    ca_pem = ca.cert_pem();
    const edgeid::fakes::Credential leaf = ca.issue();
    options.cert_pem = leaf.cert_pem;
    options.key_pem = leaf.key_pem;
  }
  options.handler = [&collector](const FakeRequest& req) { return handle(collector, req); };
  edgeid::fakes::FakeHttpServer server(std::move(options));
  {
    std::ofstream ca(argv[1]);
    ca << ca_pem;
    if (!ca) {
      std::cerr << "cannot write " << argv[1] << '\n';
      return 1;
    }
  }
  std::cout << "url " << server.url("/v1/ingest") << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string command;
    std::istringstream(line) >> command;
    if (command.empty()) continue;
    if (command == "quit") break;
    std::cout << run_command(collector, line) << std::endl;
  }
  return 0;
}
