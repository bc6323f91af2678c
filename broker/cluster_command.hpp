// `flume-broker cluster ...`: the overlay's certificate authority on the command line.
#pragma once

namespace flume::broker_cli {

// Runs `flume-broker cluster init-ca | issue-node` (argv[0] is "cluster"); returns the exit status.
int run_cluster_command(int argc, char **argv);

}  // namespace flume::broker_cli
