# sweep.gp - the buffer-size curve of exercise 3 (make charts CH=04).
# run: demo/sweep
# quick: demo/sweep --mib 1
# Data: capacity, write and read MB/s per CPU second, system calls per MiB.
set terminal pngcairo size 900,520 font ",10"
set output outfile
set multiplot layout 1,2 title "Chapter 04: buffer capacity (10-byte records, page cache)"
set logscale x 2
set xtics ("16" 16, "256" 256, "4K" 4096, "64K" 65536, "1M" 1048576)
set xlabel "buffer capacity (bytes)"
set grid
set key top left
set logscale y 10
set title "throughput, MB/s per CPU second"
plot datafile using 1:2 with linespoints title "write", \
     datafile using 1:3 with linespoints title "read"
set title "system calls per MiB"
set key top right
plot datafile using 1:4 with linespoints title "write", \
     datafile using 1:5 with linespoints title "read"
unset multiplot
