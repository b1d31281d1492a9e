# scaling.gp - round trip against idle connections (make charts CH=02).
# run: bench --runs 3
# quick: bench --runs 1
# Data: idle connections, then the median round trip (us) of one active
# client for select, poll, epoll-lt and epoll-et; "?": not measured (select
# cannot watch a descriptor at or above FD_SETSIZE).
set terminal pngcairo size 800,500 font ",10"
set output outfile
set datafile missing "?"
set title "Chapter 02: one client's round trip with N idle connections open"
set xlabel "idle connections"
set ylabel "median round trip (us)"
set grid
set key top left
set yrange [0:*]
plot datafile using 1:2 with linespoints title "select", \
     datafile using 1:3 with linespoints title "poll", \
     datafile using 1:4 with linespoints title "epoll (level)", \
     datafile using 1:5 with linespoints title "epoll (edge)"
