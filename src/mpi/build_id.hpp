// The identity of the running program's build, compared by an MPI executor's manager and its
// worker ranks at start-up: every rank runs its own copy of the program (on other machines, from
// their own file), and calls cross by the identity of their code, so a rank that runs a
// different build must be refused with an error that says so, not run the wrong function.
//
// The identity is the ELF build-id of the running executable (the NT_GNU_BUILD_ID note that
// GCC's and clang's linkers write by default, as hex: "gnu-build-id:3f2a..."), or, for an
// executable linked without one (-Wl,--build-id=none), a 64-bit FNV-1a hash of its file
// (/proc/self/exe) with its size ("exe-fnv1a64:<hash>:<size>"). The prefix says which, so two
// builds never compare equal across the two kinds.
//
// Example:
//   if (hello.build_id != build_identity()) throw std::runtime_error(different_build_message(...));
#pragma once

#include <string>
#include <string_view>

namespace concurrent::futures::detail::mpi {

// This process's build identity (computed once; any thread).
const std::string& build_identity();

// The build identity of an executable file, by its content: the kind used when there is no
// build-id note. Throws std::runtime_error if the file cannot be read.
std::string file_identity(const std::string& path);

// The error text for a worker rank whose build differs from this process's.
std::string different_build_message(int rank, std::string_view host, std::string_view theirs, std::string_view ours);

}  // namespace concurrent::futures::detail::mpi
