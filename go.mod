module github.com/wdstream/wdstream

go 1.26.0
