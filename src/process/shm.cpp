#include "process/shm.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <new>
#include <system_error>
#include <utility>

namespace concurrent::futures::detail::process {
namespace {

static_assert(kRingBytes >= 2 * frame_size(kMaxFragment) && (kRingBytes & (kRingBytes - 1)) == 0);

}  // namespace

SharedRegion::SharedRegion(SharedRegion&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      header_(std::exchange(other.header_, nullptr)) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    header_ = std::exchange(other.header_, nullptr);
  }
  return *this;
}

SharedRegion::~SharedRegion() { release(); }

void SharedRegion::release() noexcept {
  if (base_ != nullptr) munmap(base_, size_);
  close_fd();
  base_ = nullptr;
  header_ = nullptr;
}

void SharedRegion::close_fd() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

SharedRegion SharedRegion::create() {
  SharedRegion region;
  region.fd_ = static_cast<int>(syscall(SYS_memfd_create, "cfutures-worker", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (region.fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (ftruncate(region.fd_, static_cast<off_t>(kRegionBytes)) != 0) {
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  }
  // The size is fixed for good: a worker cannot shrink the file under the pool's mapping.
  fcntl(region.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  void* base = mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_SHARED, region.fd_, 0);
  if (base == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  region.base_ = base;
  region.size_ = kRegionBytes;
  region.header_ = ::new (base) SharedHeader();
  return region;
}

bool SharedRegion::attach(int fd) noexcept {
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != kRegionBytes) return false;
  void* base = mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return false;
  fd_ = fd;
  base_ = base;
  size_ = kRegionBytes;
  header_ = static_cast<SharedHeader*>(base);
  return header_->magic == kRegionMagic && header_->ring_bytes == kRingBytes;
}

RingView SharedRegion::request() const noexcept {
  return RingView{&header_->request, static_cast<unsigned char*>(base_) + kHeaderBytes, kRingBytes};
}

RingView SharedRegion::reply() const noexcept {
  return RingView{&header_->reply, static_cast<unsigned char*>(base_) + kHeaderBytes + kRingBytes, kRingBytes};
}

void shared_futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms) noexcept {
  timespec timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
  auto* address = const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(&word));
  syscall(SYS_futex, address, FUTEX_WAIT, expected, timeout_ms < 0 ? nullptr : &timeout, nullptr, 0);
}

void shared_futex_wake(const std::atomic<std::uint32_t>& word) noexcept {
  auto* address = const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(&word));
  syscall(SYS_futex, address, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

}  // namespace concurrent::futures::detail::process
