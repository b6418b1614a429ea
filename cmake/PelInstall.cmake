# PelInstall.cmake: what `cmake --install` adds to pel and its jobs, headers and CMake package (installed where they
# are built): pel-sbatch and the Slurm template, the example configs, the docs and an Lmod modulefile. A site
# install is PREFIX/bin/{pel,pel-sbatch}, PREFIX/lib/pel/jobs, PREFIX/share/pel/{pel.sbatch,pel-plots.py,examples},
# PREFIX/share/doc/pel and PREFIX/share/modulefiles/pel/VERSION.lua. Included from the top CMakeLists.txt.
set(PEL_SHARE_DIR "${CMAKE_INSTALL_DATADIR}/pel")
set(PEL_EXAMPLES_DIR "${PEL_SHARE_DIR}/examples")
set(PEL_MODULEFILES_DIR "${CMAKE_INSTALL_DATADIR}/modulefiles" CACHE STRING
    "Where the Lmod modulefile pel/VERSION.lua goes, under the prefix (the folder a site adds to MODULEPATH)")

# pel-sbatch, installed beside pel, uses the template and the pel installed with it (see its INSTALLED_ lines).
install(PROGRAMS scripts/pel-sbatch DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(FILES configs/kmeans.toml configs/mandelbrot.toml configs/synthetic.toml configs/taskfarm.toml
              configs/taskfarm-tasks.txt
        DESTINATION "${PEL_EXAMPLES_DIR}")
install(FILES README.md docs/design.md DESTINATION "${CMAKE_INSTALL_DOCDIR}")

# The template and the modulefile name the prefix, which is known only when installing (--prefix, cpack's /usr).
configure_file(cmake/PelInstallPrefixed.cmake.in "${PROJECT_BINARY_DIR}/PelInstallPrefixed.cmake" @ONLY)
install(SCRIPT "${PROJECT_BINARY_DIR}/PelInstallPrefixed.cmake")
