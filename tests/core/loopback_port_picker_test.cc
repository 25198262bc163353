#include "libs/core/loopback_port_picker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

// Binds and listens on 127.0.0.1:port; returns the socket or -1.
int ListenOn(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(LoopbackPortPickerTest, ManyPicksBeforeAnyBindAreDistinctAndAllBindable) {
  // The launcher's situation: every port is picked before any server binds. Enough picks that plain
  // bind(0)-and-close repeats a port in practice.
  LoopbackPortPicker picker;
  std::vector<int> ports;
  for (int i = 0; i < 300; ++i) {
    absl::StatusOr<int> port = picker.Pick();
    ASSERT_TRUE(port.ok()) << port.status();
    ASSERT_GT(*port, 0);
    ports.push_back(*port);
  }
  EXPECT_EQ(std::set<int>(ports.begin(), ports.end()).size(), ports.size());
  EXPECT_EQ(picker.given(), ports.size());

  // Every one of them can be listened on at the same time.
  std::vector<int> fds;
  for (int port : ports) {
    const int fd = ListenOn(port);
    EXPECT_GE(fd, 0) << "port " << port;
    if (fd >= 0) fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
}

}  // namespace
}  // namespace vlarft::core
