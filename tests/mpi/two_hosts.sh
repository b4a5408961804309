#!/usr/bin/env bash
# two_hosts.sh MPIEXEC PROGRAM [ARGS...]: runs PROGRAM as 2 MPI ranks on two "hosts" of this
# machine: two network namespaces (cfA<pid>, cfB<pid>), each with its own host name (hostA,
# hostB: a UTS namespace per process tree) and one end of a veth pair, addressed in the private
# 10.213.145.0/30 (hostA .1, hostB .2) that exists only inside those two namespaces (neither is
# connected to this machine's own network). mpiexec runs in hostA; OpenMPI starts its daemon in
# hostB through `plm_rsh_agent` set to a script that runs `ip netns exec` instead of ssh; every
# rank's traffic (OpenMPI's TCP transport and its daemons' out-of-band channel) is restricted to
# 10.213.145.0/30 and loopback.
#
# Exits 77 (CTest: skipped) with a message where namespaces cannot be made (not root, no `ip`
# or `unshare`, no permission). The namespaces, their /etc/netns files and the temporary
# directory are removed on every exit, failure and SIGTERM included; those of a run killed with
# SIGKILL are removed by the next run.
set -uo pipefail
mpiexec=$1
shift
subnet=10.213.145.0/30 address_a=10.213.145.1 address_b=10.213.145.2
ns_a=cfA$$ ns_b=cfB$$
skip() {
  echo "two_hosts.sh: SKIPPED: $*"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no 'ip' command (apt-get install iproute2)"
command -v unshare >/dev/null || skip "no 'unshare' command (util-linux)"

work=$(mktemp -d)
made_netns_dir=0
[[ -d /etc/netns ]] || made_netns_dir=1
cleanup() {
  for ns in "$ns_a" "$ns_b"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  ((made_netns_dir)) && rmdir /etc/netns 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
# Namespaces left by a run that was killed outright (SIGKILL runs no trap): their script is gone.
for stale in $(ip netns list 2>/dev/null | grep -oE '^cf[AB][0-9]+'); do
  kill -0 "${stale:3}" 2>/dev/null || { ip netns del "$stale"; rm -rf "/etc/netns/$stale"; }
done

ip netns add "$ns_a" 2>/dev/null || skip "cannot create a network namespace here (ip netns add failed)"
ip netns add "$ns_b" || skip "cannot create a second network namespace"
ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b" || skip "cannot create a veth pair"
ip -n "$ns_a" addr add "$address_a/30" dev veth-a
ip -n "$ns_b" addr add "$address_b/30" dev veth-b
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up
# The two host names, for every process that `ip netns exec` starts in them (it bind-mounts
# /etc/netns/<ns>/hosts over /etc/hosts).
for ns in "$ns_a" "$ns_b"; do
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1 localhost\n%s hostA\n%s hostB\n' "$address_a" "$address_b" >"/etc/netns/$ns/hosts"
done

# ssh's stand-in: `agent HOST COMMAND...` runs COMMAND in HOST's namespace, with its host name.
cat >"$work/agent" <<AGENT
#!/usr/bin/env bash
case "\$1" in
  hostA) ns=$ns_a ;;
  hostB) ns=$ns_b ;;
  *) echo "agent: unknown host \$1" >&2; exit 255 ;;
esac
host=\$1
shift
exec ip netns exec "\$ns" unshare --uts /bin/sh -c "hostname \$host; \$*"
AGENT
chmod +x "$work/agent"
printf 'hostA slots=1\nhostB slots=1\n' >"$work/hostfile"

echo "two_hosts.sh: hostA = $ns_a ($address_a), hostB = $ns_b ($address_b); running $*"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export CFTEST_LEAK_IGNORE_TCP_SOCKETS=1  # OpenMPI's TCP connections between the ranks (mpi_launch.sh)
export CF_MPI_EXPECT_HOSTS=2             # test_engine.cpp checks that the ranks ran on two hosts
ip netns exec "$ns_a" unshare --uts /bin/sh -c 'hostname hostA; exec "$@"' sh \
  "$mpiexec" --hostfile "$work/hostfile" -n 2 --map-by node \
  --mca plm_rsh_agent "$work/agent" \
  --mca btl tcp,self --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" \
  "$@"
status=$?
echo "two_hosts.sh: exit status $status"
exit $status
