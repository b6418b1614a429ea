# PelPackage.cmake: `cpack` in the build folder makes a Debian package of the install (prefix /usr): pel, its jobs,
# pel-sbatch, the template, the headers and CMake package for out-of-tree jobs, the examples, docs and modulefile.
# Included from the top CMakeLists.txt after every install rule.
set(PEL_DEB_MAINTAINER "Seed 120dcdd4 maintainers <maintainers@users.noreply.b-seed-120dcdd4.example>" CACHE STRING
    "The Maintainer field of pel's .deb (a site building its own package puts its own here)")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pel)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Parallel Execution Layer: MPI x OpenMP job runner with HDF5 results")
string(CONCAT CPACK_PACKAGE_DESCRIPTION  # one string (a list would show its ';'), lines under 80 for dpkg
       "pel runs batch work on HPC clusters as job plugins over MPI ranks and\n"
       "OpenMP threads, with a work-stealing scheduler, one parallel HDF5 results\n"
       "file, checkpoints, and Slurm scripts that requeue and resume; the results\n"
       "are bit-identical on any number of ranks and threads. Includes the headers\n"
       "and CMake package (find_package(pel)) to build jobs, and a modulefile.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PEL_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pel_VERSION_ARCH.deb
# dpkg-shlibdeps names the libraries pel links (libopenmpi3, libhdf5-openmpi-103-1, libgomp1, ...) with their
# versions. The rest are not linked: mpirun launches pel, python3 (3.11 for tomllib) runs pel-sbatch.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openmpi-bin, python3 (>= 3.11)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "hdf5-tools")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-matplotlib, python3-h5py, lmod, slurm-client, cmake, g++")
set(CPACK_STRIP_FILES ON)
include(CPack)
