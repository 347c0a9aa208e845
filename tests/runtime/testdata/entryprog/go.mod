module example.com/entryprog

go 1.26
