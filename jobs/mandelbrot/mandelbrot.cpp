// jobs/mandelbrot: escape-time image of the Mandelbrot set, one item per row. Rows through the set cost up to
// max-iterations per pixel, rows outside it a few: a classic irregular workload.
#include <cstdint>

#include <pel/plugin.hpp>

namespace {

/// Total iterations over all pixels: a cheap checksum of the image.
struct IterationCount {
    std::uint64_t total = 0;
    void merge(const IterationCount& other) { total += other.total; }
    template <class A>
    void fields(A& a) {
        a("total", total);
    }
};

class Mandelbrot final : public pel::Job<IterationCount> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("width", width_, "image width in pixels").range(1, 1 << 20);
        o.add("height", height_, "image height in pixels (one item per row)").range(1, 1 << 20);
        o.add("max-iterations", max_iterations_, "iterations before a point counts as inside").range(1, 1e9);
        o.add("x-min", x_min_, "left edge of the complex plane");
        o.add("x-max", x_max_, "right edge of the complex plane");
        o.add("y-min", y_min_, "bottom edge of the complex plane");
        o.add("y-max", y_max_, "top edge of the complex plane");
    }

    void setup(pel::SetupContext& ctx) override {
        if (!(x_max_ > x_min_) || !(y_max_ > y_min_)) {
            throw pel::Error::Usage("mandelbrot: need x-min < x-max and y-min < y-max");
        }
        image_ = ctx.item_output<std::uint32_t>("iterations", static_cast<std::uint64_t>(height_),
                                                static_cast<std::uint64_t>(width_),
                                                "escape iteration of each pixel, [row, column]");
        ctx.result_attribute("total_iterations");
    }

    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        return pel::Phase{"image", static_cast<std::uint64_t>(height_)};
    }

    void process(pel::ItemRange rows, IterationCount& count, pel::ItemSink& out,
                 const pel::Context& /*ctx*/) const override {
        // Everything the loops read lives in locals, so that stores to the image cannot force reloads.
        const double dx = (x_max_ - x_min_) / static_cast<double>(width_);
        const double dy = (y_max_ - y_min_) / static_cast<double>(height_);
        const double x_min = x_min_, y_max = y_max_;
        const auto limit = static_cast<std::uint32_t>(max_iterations_);
        std::uint64_t total = 0;
        for (std::uint64_t row = rows.begin; row < rows.end; ++row) {
            const auto pixels = out.row(image_, row);
            const double ci = y_max - (static_cast<double>(row) + 0.5) * dy;
            for (std::size_t col = 0; col < pixels.size(); ++col) {
                const double cr = x_min + (static_cast<double>(col) + 0.5) * dx;
                double zr = 0, zi = 0;
                std::uint32_t n = 0;
                while (n < limit && zr * zr + zi * zi <= 4.0) {
                    const double t = zr * zr - zi * zi + cr;
                    zi = 2.0 * zr * zi + ci;
                    zr = t;
                    ++n;
                }
                pixels[col] = n;
                total += n;
            }
        }
        count.total += total;
    }

    void end_phase(const IterationCount& total, const pel::Context& /*ctx*/) override {
        total_ = total.total;
        done_ = true;
    }

    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        sink.attribute("total_iterations", total_);
    }

    void save_state(pel::OutArchive& out) const override { out(done_)(total_); }
    void load_state(pel::InArchive& in) override { in(done_)(total_); }

  private:
    std::int64_t width_ = 800;
    std::int64_t height_ = 600;
    std::int64_t max_iterations_ = 1000;
    double x_min_ = -2.2, x_max_ = 1.0, y_min_ = -1.2, y_max_ = 1.2;
    pel::ItemColumn<std::uint32_t> image_;
    bool done_ = false;
    std::uint64_t total_ = 0;
};

}  // namespace

PEL_JOB(Mandelbrot, "mandelbrot", "1.0", "Mandelbrot set image; rows cost very different amounts (one item per row)")
