# Configures and builds mpich/ in WORK with MPICH's compiler wrappers, then runs the probe as a
# singleton: cfutures initializes MPICH at MPI_THREAD_SERIALIZED or better and finalizes it at exit.
file(REMOVE_RECURSE ${WORK})
include(${CMAKE_CURRENT_LIST_DIR}/../../packaging/script_helpers.cmake)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/mpi/mpich -B ${WORK} -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DCMAKE_CXX_COMPILER=${CXX} -DMPI_C_COMPILER=${MPICC} -DCFUTURES_SOURCE_DIR=${SOURCE_DIR} -DCFUTURES_CORE=${CORE})
if(NOT out MATCHES "mpich")
  message(FATAL_ERROR "the check did not find MPICH through ${MPICC}:\n${out}")
endif()
run(${CMAKE_COMMAND} --build ${WORK} -j 2)
run(${WORK}/mpich_env_probe auto)
foreach(expected "owns_mpi=1" "level=MPI_THREAD_(SERIALIZED|MULTIPLE)" "finalized_at_exit=1")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "the MPICH probe did not print ${expected}:\n${out}")
  endif()
endforeach()
message(STATUS "cfutures::mpi builds and runs with MPICH:\n${out}")
