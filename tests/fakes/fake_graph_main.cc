// edgeid-fake-graph: the fake Graph and token service (fake_graph.h) as a process, for tests
// that drive the real edgeid binary. Writes the CA certificate to CA_FILE, prints
// "url https://localhost:PORT", then obeys one command per line on stdin, answering "ok" (or
// "error ...") on stdout:
//   add_intune ID ETHERNET|- JSON     an Intune managedDevice (list item; ETHERNET is what the
//                                     per-device $select=ethernetMacAddress GET returns)
//   add_entra ID JSON                 an Entra device
//   update_entra ID JSON | remove_entra ID
//   fault KIND PATH_PREFIX TIMES      e.g. "fault throttle_429 /v1.0/deviceManagement 2"
//   generate INTUNE ENTRA             that many generated devices (FakeGraph::generate: Intune i
//                                     joins Entra i, every Intune device has an Ethernet MAC)
//   page_size INTUNE ENTRA            devices per page of the Intune list / Entra full round
//   counters                          "token=N graph=N batch=N inner=N"
//   quit                              (or end of input)
//
// Options (for benchmarks, bench/graph_sync.py):
//   --replay DIR  serve recorded responses instead of the generated tenant: DIR/index.tsv
//                 (written by `edgeid-bench-graph-sync --mode fetch --record DIR`) holds
//                 "origin<TAB>URL", then "GET<TAB>TARGET<TAB>FILE" lines. A GET of a recorded
//                 target answers 200 with that file, its links moved from the recorded origin to
//                 this server; any token request gets a token (none is checked); anything else
//                 is 404; stdin takes only "quit". Why: the live fake renders each page on
//                 request and, for an Entra page, rebuilds its device list first (O(N log N),
//                 ~60 ms at 100 k devices), so at benchmark sizes it would measure itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>

#include "fakes/fake_graph.h"
#include "fakes/fake_http_server.h"
#include "fakes/test_pki.h"

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return static_cast<bool>(in);
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty() || from == to) return;
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t hit = 0; (hit = text.find(from, pos)) != std::string::npos;
       pos = hit + from.size()) {
    out.append(text, pos, hit - pos).append(to);
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
}

int replay(const std::string& ca_file, const std::string& dir) {
  edgeid::fakes::TestCa ca;
  const edgeid::fakes::Credential leaf = ca.issue();
  std::unordered_map<std::string, std::string> bodies;
  std::ifstream index(dir + "/index.tsv");
  std::string line;
  std::string recorded_origin;
  while (std::getline(index, line)) {
    std::istringstream fields(line);
    std::string kind;
    std::string target;
    std::string file;
    std::getline(fields, kind, '\t');
    std::getline(fields, target, '\t');
    std::getline(fields, file);
    if (kind == "origin") {
      recorded_origin = target;
      continue;
    }
    std::string path = dir;
    path.append("/").append(file);
    if (kind != "GET" || !read_file(path, bodies[target])) {
      std::cerr << "bad replay entry: " << line << '\n';
      return 1;
    }
  }
  if (bodies.empty() || recorded_origin.empty()) {
    std::cerr << "nothing to replay in " << dir << "/index.tsv\n";
    return 1;
  }
  edgeid::fakes::FakeServerOptions options;
  options.cert_pem = leaf.cert_pem;
  options.key_pem = leaf.key_pem;
  edgeid::fakes::FakeHttpServer server(std::move(options));
  std::string url = server.url("/");
  url.pop_back();
  // The links in the bodies name the recorded server: move them here, now that the port is
  // known. set_handler() hands the finished bodies to the server threads under its mutex; the
  // server copies the handler for every request, so it holds them by shared pointer.
  for (auto& [target, body] : bodies) replace_all(body, recorded_origin, url);
  auto pages =
      std::make_shared<const std::unordered_map<std::string, std::string>>(std::move(bodies));
  server.set_handler([pages](const edgeid::fakes::FakeRequest& req) {
    edgeid::fakes::FakeResponse r;
    r.headers.emplace_back("Content-Type", "application/json");
    if (req.method == "POST" && req.target.find("/oauth2/v2.0/token") != std::string::npos) {
      r.body = R"({"token_type":"Bearer","expires_in":3599,"access_token":"replay-token"})";
      return r;
    }
    const auto it = req.method == "GET" ? pages->find(req.target) : pages->end();
    if (it == pages->end()) {
      r.status = 404;
      r.reason = "Not Found";
      r.body = R"({"error":{"code":"ResourceNotFound","message":"not recorded"}})";
      return r;
    }
    r.body = it->second;
    return r;
  });
  {
    std::ofstream out(ca_file);
    out << ca.cert_pem();
    if (!out) {
      std::cerr << "cannot write " << ca_file << '\n';
      return 1;
    }
  }
  std::cout << "url " << url << std::endl;
  while (std::getline(std::cin, line)) {
    if (line == "quit") break;
    std::cout << "error replay mode takes no commands" << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string replay_dir;
  bool usage = argc < 2;
  for (int i = 2; i < argc && !usage; ++i) {
    const std::string arg = argv[i];
    if (arg == "--replay" && i + 1 < argc) {
      replay_dir = argv[++i];
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::cerr << "usage: edgeid-fake-graph CA_FILE [--replay DIR]\n";
    return 2;
  }
  if (!replay_dir.empty()) return replay(argv[1], replay_dir);
  edgeid::fakes::FakeGraph graph;
  {
    std::ofstream ca(argv[1]);
    ca << graph.ca_pem();
    if (!ca) {
      std::cerr << "cannot write " << argv[1] << '\n';
      return 1;
    }
  }
  std::cout << "url " << graph.url() << std::endl;
  const std::map<std::string, edgeid::fakes::Fault> faults{
      {"throttle_429", edgeid::fakes::Fault::throttle_429},
      {"unavailable_503", edgeid::fakes::Fault::unavailable_503},
      {"unauthorized_401", edgeid::fakes::Fault::unauthorized_401},
      {"delta_gone_410", edgeid::fakes::Fault::delta_gone_410},
      {"invalid_json", edgeid::fakes::Fault::invalid_json},
      {"truncated_body", edgeid::fakes::Fault::truncated_body},
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command, id, rest;
    in >> command >> id;
    if (command == "quit") break;
    if (command == "add_intune") {
      std::string ethernet;
      in >> ethernet >> std::ws;
      std::getline(in, rest);
      graph.add_intune(id, rest, ethernet == "-" ? "" : ethernet);
    } else if (command == "add_entra" || command == "update_entra") {
      in >> std::ws;
      std::getline(in, rest);
      if (command == "add_entra") {
        graph.add_entra(id, rest);
      } else {
        graph.update_entra(id, rest);
      }
    } else if (command == "remove_entra") {
      graph.remove_entra(id);
    } else if (command == "fault") {
      const auto f = faults.find(id);
      std::string prefix;
      int times = 1;
      in >> prefix >> times;
      if (f == faults.end()) {
        std::cout << "error unknown fault " << id << std::endl;
        continue;
      }
      graph.add_fault({f->second, prefix, times, "1"});
    } else if (command == "generate" || command == "page_size") {
      // Both take two counts; the first one was read into `id`.
      std::size_t entra = 0;
      std::size_t intune = 0;
      std::istringstream first(id);
      if (!(first >> intune) || !(in >> entra)) {
        std::cout << "error usage: " << command << " INTUNE ENTRA" << std::endl;
        continue;
      }
      if (command == "generate") {
        graph.generate(intune, entra);
      } else {
        if (intune == 0 || entra == 0) {
          std::cout << "error page sizes must be positive" << std::endl;
          continue;
        }
        graph.intune_page_size = intune;
        graph.entra_page_size = entra;
      }
    } else if (command == "counters") {
      std::cout << "token=" << graph.token_requests() << " graph=" << graph.graph_requests()
                << " batch=" << graph.batch_requests() << " inner=" << graph.inner_batch_requests()
                << std::endl;
      continue;
    } else {
      std::cout << "error unknown command " << command << std::endl;
      continue;
    }
    std::cout << "ok" << std::endl;
  }
  return 0;
}
