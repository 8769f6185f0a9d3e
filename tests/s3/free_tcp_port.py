#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Print a free loopback TCP port for a Ceph daemon or radosgw to listen on.
#
# The port is taken below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range): a port inside it can be handed, between
# this check and the daemon's bind, to one of the many outgoing connections
# the cluster's own daemons make (radosgw opens several to the monitor and
# the OSD before its front-end binds), and the bind then fails with
# EADDRINUSE. Ceph's messenger binds 6800-7568, so the range starts above.
import random
import socket
import sys

low = 32768
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    pass
hi = max(low - 1, 10001)
for _ in range(500):
    port = random.randint(10000, hi)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    sys.exit("no free TCP port below the ephemeral range")
