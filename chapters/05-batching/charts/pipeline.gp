# pipeline.gp - pipelining depth against throughput (make charts CH=05).
# run: bench --runs 3
# quick: bench --runs 1
# Data: depth (commands a batch), commands per second, round trips kvd
# served a batch, and the ideal: depth commands per added round trip.
set terminal pngcairo size 800,500 font ",10"
set output outfile
set title "Chapter 05: 1024 SETs to kvd, 200 us added per round trip"
set logscale xy 2
set xlabel "commands per batch (pipelining depth)"
set ylabel "commands per second"
set grid
set key top left
plot datafile using 1:2 with linespoints title "bat_pipeline", \
     datafile using 1:4 with lines dashtype 2 title "depth / round trip (no other cost)"
