// The fork server on its own (process/forkserver.hpp), without a pool: what it answers on a
// channel. Its fork() is given to it, so a failed fork can be made at will; a pool's handling of
// a failed spawn is tested with the test hooks (test_faults.cpp).
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "process/forkserver.hpp"
#include "sanitizers.hpp"

namespace {

namespace pr = concurrent::futures::detail::process;

pid_t failing_fork() {
  errno = EAGAIN;
  return -1;
}

TEST(ForkServerProcess, AFailedForkIsReportedAsSpawnFailedAndTheServerEndsWithItsChannel) {
#ifdef CFTEST_ASAN
  GTEST_SKIP() << "a fork of the threaded test process may inherit ASan's allocator lock held";
#endif
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  const pid_t server = fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    close(sv[0]);
    pr::ForkServer(-1, sv[1], &failing_fork).run();  // never returns
  }
  close(sv[1]);
  const int fds[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};
  pr::Packet spawn;
  spawn.type = pr::Packet::kSpawn;
  spawn.slot = 5;
  EXPECT_TRUE(pr::send_packet(sv[0], spawn, fds, 2));
  close(fds[0]);
  close(fds[1]);
  pr::Packet reply;
  int received[1];
  int nfds = 0;
  ASSERT_EQ(pr::receive_packet(sv[0], reply, received, 1, nfds, 0), static_cast<ssize_t>(sizeof reply));
  EXPECT_EQ(reply.type, pr::Packet::kSpawnFailed);
  EXPECT_EQ(reply.slot, 5u);
  EXPECT_EQ(reply.value, EAGAIN);
  EXPECT_EQ(nfds, 0);
  close(sv[0]);  // a pool's own server ends with its one channel
  int status = 0;
  ASSERT_EQ(waitpid(server, &status, 0), server);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
