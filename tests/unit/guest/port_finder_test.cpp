#include "guest/port_finder.hpp"

#include <fcntl.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/protocol.hpp"
#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using namespace std::chrono_literals;
using testing::TempTree;

// Three ports as a real guest might have them: the guest agent's, ours, and
// one whose name the host has not sent yet.
void add_ports(const TempTree& tree) {
  tree.write("sys/class/virtio-ports/vport0p0/name", "org.qemu.guest_agent.0\n");
  tree.write("sys/class/virtio-ports/vport0p1/name", std::string{kControlPortName} + "\n");
  tree.mkdir("sys/class/virtio-ports/vport1p1");
}

TEST(GuestPortFinder, FindsThePortByNameAmongSeveral) {
  TempTree tree;
  add_ports(tree);
  auto device = find_port_device(tree.roots().sys, tree.roots().dev, kControlPortName);
  ASSERT_TRUE(device) << device.error().message;
  EXPECT_EQ(*device, tree.roots().dev / "vport0p1");
}

TEST(GuestPortFinder, MissingNameListsThePortsFound) {
  TempTree tree;
  add_ports(tree);
  auto device = find_port_device(tree.roots().sys, tree.roots().dev, "org.kstep.other");
  ASSERT_FALSE(device);
  const std::string& message = device.error().message;
  EXPECT_NE(message.find("no virtio port named org.kstep.other"), std::string::npos) << message;
  EXPECT_NE(message.find("vport0p0=org.qemu.guest_agent.0"), std::string::npos) << message;
  EXPECT_NE(message.find("vport1p1 (unnamed)"), std::string::npos) << message;
}

TEST(GuestPortFinder, NoVirtioPortsAtAllSaysSo) {
  TempTree tree;
  auto device = find_port_device(tree.roots().sys, tree.roots().dev, kControlPortName);
  ASSERT_FALSE(device);
  EXPECT_NE(device.error().message.find("has no ports"), std::string::npos) << device.error().message;
}

TEST(GuestPortFinder, OpensNonBlockingAndCloseOnExec) {
  TempTree tree;
  add_ports(tree);
  tree.write("dev/vport0p1", "");  // a regular file stands in for the device node

  auto fd = open_port(tree.roots().sys, tree.roots().dev, kControlPortName, 0ms);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  const int flags = ::fcntl(fd->get(), F_GETFL);
  EXPECT_TRUE(flags & O_NONBLOCK);
  EXPECT_EQ(flags & O_ACCMODE, O_RDWR);
}

TEST(GuestPortFinder, MissingDeviceNodeFailsAfterTheTimeout) {
  TempTree tree;
  add_ports(tree);
  auto fd = open_port(tree.roots().sys, tree.roots().dev, kControlPortName, 20ms);
  ASSERT_FALSE(fd);
  const std::string& message = fd.error().message;
  EXPECT_NE(message.find("after waiting 20 ms"), std::string::npos) << message;
  EXPECT_NE(message.find("vport0p1"), std::string::npos) << message;
}

// The name and the node appear while the driver probes; open_port must wait
// for them rather than fail at the first look.
TEST(GuestPortFinder, WaitsForAPortThatAppearsLate) {
  TempTree tree;
  std::thread late{[&] {
    std::this_thread::sleep_for(50ms);
    tree.write("dev/vport0p1", "");
    add_ports(tree);
  }};
  auto fd = open_port(tree.roots().sys, tree.roots().dev, kControlPortName, 10s);
  late.join();
  ASSERT_TRUE(fd) << fd.error().message;
}

}  // namespace
}  // namespace kstep::guest
