# Installs cfutures from BUILD_DIR into WORK/prefix, then builds and runs the cfutures::mpi
# consumer through find_package(cfutures COMPONENTS mpi) and through pkg-config cfutures-mpi;
# and checks that an installation without the component fails to find it, saying why.
file(REMOVE_RECURSE ${WORK})
include(${CMAKE_CURRENT_LIST_DIR}/script_helpers.cmake)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)
run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/find -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/find)
run(${WORK}/find/consumer_mpi)

build_with_pkg_config(cfutures-mpi ${WORK}/prefix ${CONSUMER}/main.cpp ${WORK}/pkgconfig_consumer_mpi)

# The same installation without the component, as a build with CFUTURES_MPI=OFF installs it.
file(GLOB mpi_targets ${WORK}/prefix/*/cmake/cfutures/cfuturesMpiTargets*.cmake)
file(REMOVE ${mpi_targets})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/without -DCMAKE_CXX_COMPILER=${CXX}
                        -DCMAKE_PREFIX_PATH=${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0 OR NOT out MATCHES "built[ \n]+without[ \n]+MPI")
  message(FATAL_ERROR "find_package(cfutures COMPONENTS mpi) without the component: rc ${rc}\n${out}")
endif()
