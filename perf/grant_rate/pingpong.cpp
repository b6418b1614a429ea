// perf/grant_rate/pingpong.cpp: `mpirun -np 2 pingpong [ROUNDS]`: the median round trip of a 24-byte message
// (the size of pel's grant) between ranks 0 and 1, over batches, printed as {"round_trip_us": X}.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpi.h>
#include <vector>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 20000;
    char message[24] = {};
    std::vector<double> batches;
    constexpr int kBatch = 1000;
    for (int done = 0; done < rounds; done += kBatch) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        for (int i = 0; i < kBatch; ++i) {
            if (rank == 0) {
                MPI_Send(message, sizeof message, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(message, sizeof message, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(message, sizeof message, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(message, sizeof message, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
        }
        batches.push_back((MPI_Wtime() - t0) / kBatch * 1e6);
    }
    std::sort(batches.begin(), batches.end());
    if (rank == 0) std::printf("{\"round_trip_us\": %.3f}\n", batches[batches.size() / 2]);
    MPI_Finalize();
    return 0;
}
