# cfutures::mpi (API.md, "Scale-out over MPI"): the MPI executors, built where MPI is found.
#
#   -DCFUTURES_MPI=AUTO (default)  build cfutures::mpi when find_package(MPI) finds MPI's C API
#   -DCFUTURES_MPI=ON              the same, and configuring fails where MPI is not found
#   -DCFUTURES_MPI=OFF             never
#
# cfutures::cfutures never links MPI. The MPI implementation is the one FindMPI finds: the
# default `mpicc` (Debian: OpenMPI, chosen by update-alternatives), or the wrapper named by
# -DMPI_C_COMPILER=... (e.g. mpicc.mpich for MPICH). Sets CFUTURES_HAVE_MPI.
set(CFUTURES_MPI AUTO CACHE STRING "Build cfutures::mpi: AUTO (where MPI is found), ON (required) or OFF")
set_property(CACHE CFUTURES_MPI PROPERTY STRINGS AUTO ON OFF)

set(CFUTURES_HAVE_MPI OFF)
string(TOUPPER "${CFUTURES_MPI}" cfutures_mpi_mode)
if(NOT cfutures_mpi_mode STREQUAL "AUTO")
  if(CFUTURES_MPI)
    set(cfutures_mpi_mode ON)
  else()
    set(cfutures_mpi_mode OFF)
  endif()
endif()

if(NOT cfutures_mpi_mode STREQUAL "OFF")
  enable_language(C)  # FindMPI looks for the C API only where C is enabled
  if(cfutures_mpi_mode STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS C)
  else()
    find_package(MPI COMPONENTS C)
  endif()
  if(MPI_C_FOUND)
    set(CFUTURES_HAVE_MPI ON)
  else()
    message(STATUS "cfutures: no MPI found (apt-get install libopenmpi-dev): cfutures::mpi is not built")
  endif()
endif()

if(CFUTURES_HAVE_MPI)
  message(STATUS "cfutures: building cfutures::mpi with MPI ${MPI_C_VERSION} (${MPI_C_COMPILER})")
  add_subdirectory(${PROJECT_SOURCE_DIR}/src/mpi ${PROJECT_BINARY_DIR}/src/mpi)
  install(TARGETS cfutures_mpi EXPORT cfuturesMpiTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT cfuturesMpiTargets NAMESPACE cfutures:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cfutures)
  # cfutures-mpi.pc: MPI's own flags as FindMPI found them (no .pc name is common to every MPI).
  list(JOIN MPI_C_INCLUDE_DIRS " -I" cfutures_mpi_includes)
  if(cfutures_mpi_includes)
    set(cfutures_mpi_includes "-I${cfutures_mpi_includes}")
  endif()
  list(JOIN MPI_C_LIBRARIES " " CFUTURES_MPI_PC_LIBS)
  set(CFUTURES_MPI_PC_CFLAGS "${cfutures_mpi_includes} -DOMPI_SKIP_MPICXX=1 -DMPICH_SKIP_MPICXX=1")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/cfutures-mpi.pc.in ${PROJECT_BINARY_DIR}/cfutures-mpi.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/cfutures-mpi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
