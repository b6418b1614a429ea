// perf/mandelbrot/serial.cpp: `serial WIDTH HEIGHT MAX_ITER OUT.h5` computes the mandelbrot job's image in one
// thread, with the same loop and plane, writes it with serial HDF5, and prints {"seconds": S} for the whole.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <hdf5.h>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s WIDTH HEIGHT MAX_ITER OUT.h5\n", argv[0]);
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    const long width = std::atol(argv[1]), height = std::atol(argv[2]);
    const auto limit = static_cast<std::uint32_t>(std::atol(argv[3]));
    const double x_min = -2.2, x_max = 1.0, y_min = -1.2, y_max = 1.2;
    const double dx = (x_max - x_min) / static_cast<double>(width);
    const double dy = (y_max - y_min) / static_cast<double>(height);
    std::vector<std::uint32_t> image(static_cast<std::size_t>(width * height));
    for (long row = 0; row < height; ++row) {
        const double ci = y_max - (static_cast<double>(row) + 0.5) * dy;
        for (long col = 0; col < width; ++col) {
            const double cr = x_min + (static_cast<double>(col) + 0.5) * dx;
            double zr = 0, zi = 0;
            std::uint32_t n = 0;
            while (n < limit && zr * zr + zi * zi <= 4.0) {
                const double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                ++n;
            }
            image[static_cast<std::size_t>(row * width + col)] = n;
        }
    }
    const hid_t file = H5Fcreate(argv[4], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[2] = {static_cast<hsize_t>(height), static_cast<hsize_t>(width)};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t ds = H5Dcreate2(file, "iterations", H5T_NATIVE_UINT32, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t written = H5Dwrite(ds, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, image.data());
    H5Dclose(ds);
    H5Sclose(space);
    H5Fclose(file);
    if (file < 0 || written < 0) return 1;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"seconds\": %.6f}\n", seconds);
    return 0;
}
