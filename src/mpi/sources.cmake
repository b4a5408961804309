# The sources of cfutures_mpi, relative to this directory: shared by src/mpi/CMakeLists.txt and
# the check that they also build with MPICH (tests/mpi/mpich).
set(CFUTURES_MPI_SOURCES build_id.cpp engine.cpp environment.cpp executors.cpp inbox.cpp rank_transport.cpp worker.cpp)
