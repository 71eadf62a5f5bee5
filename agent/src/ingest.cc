#include "commands.h"
namespace edgeid::agent {
int run_ingest(const CommandArgs& a) {
  a.err << "ingest: not built yet\n";
  return 1;
}
}  // namespace edgeid::agent
