// The seed's is_prime program (examples/000_is_prime.cpp) scaled out over MPI ranks, on one
// machine or many, with the same output. Only the executor's line changes:
//
//   ./mpi_is_prime                        # MPIPoolExecutor: spawns worker ranks (MPI_Comm_spawn)
//   mpiexec -n 1 ./mpi_is_prime           # the same, under mpiexec (add hosts with --host/--hostfile)
//   mpiexec -n 4 ./mpi_is_prime --comm    # MPICommExecutor: rank 0 sends the calls to ranks 1-3
//
// Every rank runs this same program (copy the build to every host); a spawned or serving rank
// never prints: only the root does.
#include <cfutures/mpi.hpp>
#include <cstring>
#include <iostream>
#include <vector>

namespace cf = concurrent::futures;

const std::vector<long long> PRIMES = {112272535095293, 112582705942171, 112272535095293,
                                       115280095190773, 115797848077099, 1099726899285419};

// Trial division by 2, 3 and the numbers 6k +- 1.
bool is_prime(long long n) {
  if (n < 4) return n > 1;
  if (n % 2 == 0 || n % 3 == 0) return false;
  for (long long d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

void print_results(cf::Executor& executor) {
  auto results = executor.map(is_prime, PRIMES);
  auto prime = results.begin();
  for (long long number : PRIMES) {
    std::cout << number << " is prime: " << (*prime ? "True" : "False") << "\n";
    ++prime;
  }
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--comm") == 0) {
    cf::MPICommExecutor executor(MPI_COMM_WORLD, 0);
    if (executor) print_results(executor);  // the other ranks served the calls meanwhile
    return 0;
  }
  cf::MPIPoolExecutor executor(2);
  print_results(executor);
}
