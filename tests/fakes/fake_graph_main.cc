// edgeid-fake-graph: the fake Graph and token service (fake_graph.h) as a process, for tests
// that drive the real edgeid binary. Writes the CA certificate to CA_FILE, prints
// "url https://localhost:PORT", then obeys one command per line on stdin, answering "ok" (or
// "error ...") on stdout:
//   add_intune ID ETHERNET|- JSON     an Intune managedDevice (list item; ETHERNET is what the
//                                     per-device $select=ethernetMacAddress GET returns)
//   add_entra ID JSON                 an Entra device
//   update_entra ID JSON | remove_entra ID
//   fault KIND PATH_PREFIX TIMES      e.g. "fault throttle_429 /v1.0/deviceManagement 2"
//   counters                          "token=N graph=N batch=N inner=N"
//   quit                              (or end of input)
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "fakes/fake_graph.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: edgeid-fake-graph CA_FILE\n";
    return 2;
  }
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
