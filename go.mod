module github.com/second-hand/second-hand

go 1.26.8

require (
	github.com/facebook/time v0.0.0-20260822211804-f81aedc1c1e3
	golang.org/x/sys v0.45.0
)
